//! The *Indeks Kepuasan Masyarakat* (IKM, public satisfaction index) of PermenPAN-RB 14/2017
//! ("Pedoman Penyusunan Survei Kepuasan Masyarakat Unit Penyelenggara Pelayanan Publik"),
//! computed from the nine SKM elements each respondent scored 1–4.
//!
//! The regulation's method (Lampiran, "Metode pengolahan data"):
//!
//! 1. NRR per element (*nilai rata-rata*) = the sum of the element's scores ÷ the number of
//!    respondents who filled the survey.
//! 2. Each element is weighted equally: weight = 1 ÷ number of elements = 1/9, which the
//!    regulation writes as **0.111**; NRR tertimbang per element = NRR × 0.111.
//! 3. IKM (the index, 1–4) = the sum of the nine weighted NRRs.
//! 4. IKM unit value (*nilai konversi*, 25–100) = IKM × 25, the base value.
//!
//! Because the regulation rounds the weight to 0.111, nine perfect scores give 3.996 and
//! 99.90, not 4 and 100; offices' published SKM reports show the same, so we keep it.
//!
//! The quality grade, from the regulation's table "Nilai Persepsi, Interval IKM, Interval
//! Konversi IKM, Mutu Pelayanan dan Kinerja Unit Pelayanan":
//!
//! | perception | interval (NI) | conversion (NIK) | grade | performance |
//! |---|---|---|---|---|
//! | 1 | 1.00 – 2.5996 | 25.00 – 64.99 | D | tidak baik (poor) |
//! | 2 | 2.60 – 3.064 | 65.00 – 76.60 | C | kurang baik (fair) |
//! | 3 | 3.0644 – 3.532 | 76.61 – 88.30 | B | baik (good) |
//! | 4 | 3.5324 – 4.00 | 88.31 – 100.00 | A | sangat baik (very good) |
//!
//! Checked against copies of the table published by offices applying the regulation, e.g. BLU
//! BPPP Tegal, "Buku Kinerja 2024", p. 44 (fliphtml5.com/reidny/aaer), which prints the C row's
//! upper conversion bound as 76.66 — a typo: 3.064 × 25 = 76.60 and B starts at 76.61. We grade
//! on the conversion value rounded to two decimals (as it is reported), so the bounds meet with
//! no gap: ≥ 88.31 A, ≥ 76.61 B, ≥ 65.00 C, else D.

/// The regulation's weight of each of the nine elements (1/9 written as 0.111).
pub const WEIGHT: f64 = 0.111;
/// The conversion base: IKM × 25 gives the unit value on 25–100.
pub const CONVERSION: f64 = 25.0;

/// The nine SKM elements of PermenPAN-RB 14/2017, in survey order (`skm_1` … `skm_9`); their
/// names are the report's words `report_element_1` … `report_element_9`.
pub const ELEMENTS: usize = 9;

/// The regulation's quality grade (*mutu pelayanan*).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Grade {
    A,
    B,
    C,
    D,
}

impl Grade {
    /// The grade of a unit value (25–100), by the conversion intervals above.
    pub fn of_value(value: f64) -> Grade {
        let v = (value * 100.0).round() / 100.0;
        if v >= 88.31 {
            Grade::A
        } else if v >= 76.61 {
            Grade::B
        } else if v >= 65.00 {
            Grade::C
        } else {
            Grade::D
        }
    }

    pub fn letter(self) -> &'static str {
        match self {
            Grade::A => "A",
            Grade::B => "B",
            Grade::C => "C",
            Grade::D => "D",
        }
    }

    /// The report's word for the grade: the regulation's performance wording, with its
    /// English meaning.
    pub fn text_key(self) -> &'static str {
        match self {
            Grade::A => "report_grade_a",
            Grade::B => "report_grade_b",
            Grade::C => "report_grade_c",
            Grade::D => "report_grade_d",
        }
    }
}

/// The IKM of a set of survey answers.
#[derive(Debug, Clone, PartialEq)]
pub struct Ikm {
    /// How many filled surveys it is computed from.
    pub respondents: usize,
    /// NRR of each element (1–4).
    pub nrr: [f64; 9],
    /// Σ NRR × 0.111: the index on 1–4.
    pub index: f64,
    /// index × 25: the unit value on 25–100.
    pub value: f64,
    pub grade: Grade,
}

impl Ikm {
    /// The IKM of these surveys, or `None` when there are none. Scores outside 1–4 cannot
    /// come from the survey dialog; they are clamped so a bad record cannot push the index
    /// out of the regulation's range.
    pub fn compute(surveys: &[[u8; 9]]) -> Option<Ikm> {
        if surveys.is_empty() {
            return None;
        }
        let n = surveys.len() as f64;
        let mut nrr = [0.0; 9];
        for (i, slot) in nrr.iter_mut().enumerate() {
            let sum: f64 = surveys.iter().map(|s| f64::from(s[i].clamp(1, 4))).sum();
            *slot = sum / n;
        }
        let index: f64 = nrr.iter().map(|v| v * WEIGHT).sum();
        let value = index * CONVERSION;
        Some(Ikm {
            respondents: surveys.len(),
            nrr,
            index,
            value,
            grade: Grade::of_value(value),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grade_bounds_follow_the_regulation_table() {
        // Interval ends × 25 land on the conversion ends.
        assert_eq!(Grade::of_value(2.5996 * 25.0), Grade::D); // 64.99
        assert_eq!(Grade::of_value(2.60 * 25.0), Grade::C); // 65.00
        assert_eq!(Grade::of_value(3.064 * 25.0), Grade::C); // 76.60
        assert_eq!(Grade::of_value(3.0644 * 25.0), Grade::B); // 76.61
        assert_eq!(Grade::of_value(3.532 * 25.0), Grade::B); // 88.30
        assert_eq!(Grade::of_value(3.5324 * 25.0), Grade::A); // 88.31
        assert_eq!(Grade::of_value(25.0), Grade::D);
        assert_eq!(Grade::of_value(99.9), Grade::A);
    }

    #[test]
    fn all_fours_give_the_regulation_maximum_with_its_rounded_weight() {
        let ikm = Ikm::compute(&[[4; 9], [4; 9]]).unwrap();
        assert!((ikm.index - 3.996).abs() < 1e-9);
        assert!((ikm.value - 99.9).abs() < 1e-9);
        assert_eq!(ikm.grade, Grade::A);
        assert_eq!(Ikm::compute(&[]), None);
    }
}
