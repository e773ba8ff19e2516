//! The product cart: a product named in words or by its number, with an optional quantity in
//! the same message ("susenas 2 set"), or "that's all" ("udah", "itu aja").

use super::answers::done_word;
use super::choice::{ChoiceMode, ChoiceReading, Choices, by_number, content};
use super::lexicon::Lexicon;
use super::normalize::normalize;
use super::numbers::numbers_in;
use super::scoring::by_words;

/// What a message typed at the cart means.
#[derive(Debug, Clone, PartialEq)]
pub enum CartReading {
    /// Finish choosing.
    Done,
    /// A product (its index in the catalog), with the quantity when the message gave one.
    Product { index: usize, quantity: Option<f64> },
    /// Equally likely products: ask with just these.
    Tie(Vec<usize>),
    /// Nothing understood.
    None,
}

/// Reads a cart message against the catalog's products (built with [`Choices::new`] from each
/// product's code, names and `also`). A lone number is the product's position; a number beside
/// a product's name is its quantity.
pub fn cart_item(lex: &Lexicon, products: &Choices, text: &str) -> CartReading {
    if done_word(lex, text) {
        return CartReading::Done;
    }
    let n = normalize(lex, text);
    let c = content(lex, &n.tokens);
    if c.is_empty() {
        return CartReading::None;
    }
    if let Some(r) = by_number(products, &c, ChoiceMode::Single) {
        return match r {
            ChoiceReading::One(index) => CartReading::Product {
                index,
                quantity: None,
            },
            _ => CartReading::None,
        };
    }
    let found = numbers_in(lex, &c);
    let words: Vec<String> = c
        .iter()
        .enumerate()
        .filter(|(i, _)| !found.iter().any(|f| f.start <= *i && *i < f.end))
        .map(|(_, t)| t.clone())
        .collect();
    let quantity = match found.as_slice() {
        [] => None,
        [one] => Some(one.value),
        _ => return CartReading::None,
    };
    match by_words(lex, products, &words).reading {
        ChoiceReading::One(index) => CartReading::Product { index, quantity },
        ChoiceReading::Tie(v) => CartReading::Tie(v),
        _ => CartReading::None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::choice::OptionText;
    use super::super::test_lexicon;
    use super::*;

    #[test]
    fn products_quantities_and_done() {
        let lex = test_lexicon();
        let p = Choices::new(
            lex,
            &[
                OptionText {
                    value: "PUB-CETAK",
                    labels: vec!["Publikasi tercetak", "Printed publication"],
                    also: vec!["cetak"],
                },
                OptionText {
                    value: "MIKRO-SUSENAS",
                    labels: vec!["Data mikro Susenas (Survei Sosial Ekonomi Nasional)"],
                    also: vec![],
                },
                OptionText {
                    value: "MIKRO-SAKERNAS",
                    labels: vec!["Data mikro Sakernas (Survei Angkatan Kerja Nasional)"],
                    also: vec![],
                },
            ],
        );
        let read = |s| cart_item(lex, &p, s);
        assert_eq!(read("udah"), CartReading::Done);
        assert_eq!(
            read("2"),
            CartReading::Product {
                index: 1,
                quantity: None
            }
        );
        assert_eq!(
            read("susenas 2 set"),
            CartReading::Product {
                index: 1,
                quantity: Some(2.0)
            }
        );
        assert_eq!(
            read("data mikro sakernas"),
            CartReading::Product {
                index: 2,
                quantity: None
            }
        );
        assert_eq!(read("data mikro"), CartReading::Tie(vec![1, 2]));
        assert_eq!(read("pizza"), CartReading::None);
    }
}
