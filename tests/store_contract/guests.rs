//! The guest book boundary: guests with their consent texts, walked whole or in pages.

use crate::store_contract::fixtures::{commit, guest, who};
use chrono::{Duration, TimeZone, Utc};
use pstbot::cases::Answer;
use pstbot::guestbook::{Appointment, Guest, Rating, Visit};
use pstbot::message::{ChannelKind, Identity};
use pstbot::store::Store;

against_every_engine!(consent_contract, guest_book_contract);

/// A guest registered from an identity, updated by later saves; visits, ratings and
/// appointments listed by time, whatever order they were committed in.
pub fn guest_book_contract(store: &dyn Store) {
    let ani = who("book-1");
    assert!(store.guest_of(&ani).unwrap().is_none());
    assert!(store.guests().unwrap().is_empty());
    let mut c = commit("g1", &ani, 0);
    c.guest = Some(guest("Ani"));
    store.commit(c).unwrap();
    let first = store.guest_of(&ani).unwrap().unwrap();
    assert_eq!(first.id, Guest::id_for(&ani));
    assert_eq!(first.identities, std::slice::from_ref(&ani));
    let mut c = commit("g2", &ani, 5);
    let mut update = guest("Ani Lestari");
    update.lang = "en".into();
    c.guest = Some(update);
    store.commit(c).unwrap();
    let updated = store.guest_of(&ani).unwrap().unwrap();
    assert_eq!(updated.name(), Some("Ani Lestari"));
    assert_eq!(updated.lang, "en");
    assert_eq!(updated.created_at, first.created_at);
    assert_eq!(updated.consent_at, first.consent_at, "same consent version");
    assert!(updated.updated_at > first.updated_at);

    let start = Utc.with_ymd_and_hms(2026, 11, 23, 2, 0, 0).unwrap();
    let at = |minutes: i64| start + Duration::minutes(minutes);
    for (i, minutes) in [30, 10, 20].into_iter().enumerate() {
        let mut c = commit(&format!("v{i}"), &ani, minutes);
        c.visit = Some(Visit {
            guest_id: first.id.clone(),
            at: at(minutes),
            channel: ChannelKind::Telegram,
            service: Some(format!("visit {minutes}")),
            purpose: None,
            name: None,
        });
        c.rating = Some(Rating {
            guest_id: Some(first.id.clone()),
            case: None,
            at: at(minutes),
            score: 3,
            comment: None,
            skm: None,
        });
        c.appointment = Some(Appointment {
            guest_id: first.id.clone(),
            booked_at: at(minutes),
            at: at(minutes + 1440),
            topic: format!("topic {minutes}"),
        });
        store.commit(c).unwrap();
    }
    let visits: Vec<_> = store.visits().unwrap().iter().map(|v| v.at).collect();
    assert_eq!(visits, [at(10), at(20), at(30)]);
    let ratings: Vec<_> = store.ratings().unwrap().iter().map(|r| r.at).collect();
    assert_eq!(ratings, [at(10), at(20), at(30)]);
    assert_eq!(
        store
            .appointments()
            .unwrap()
            .iter()
            .map(|a| a.topic.as_str())
            .collect::<Vec<_>>(),
        ["topic 10", "topic 20", "topic 30"]
    );
    assert_eq!(store.guests().unwrap(), [updated]);
}

/// Guests keep the consent text they agreed to, whole, also when many agreed to the same one
/// (the sled store keeps each text once) and after a newer consent version.
pub fn consent_contract(store: &dyn Store) {
    let long = "Dengan ini saya menyetujui pemrosesan data pribadi saya (UU PDP). ".repeat(20);
    let people: Vec<Identity> = (0..3).map(|i| who(&format!("c{i}"))).collect();
    for (i, p) in people.iter().enumerate() {
        let mut c = commit(&format!("g{i}"), p, i as i64);
        let mut g = guest(&format!("Orang {i}"));
        g.consent_text = long.clone();
        c.guest = Some(g);
        store.commit(c).unwrap();
    }
    // The first person agrees to a newer text; the second only updates the profile.
    let mut c = commit("g-new", &people[0], 10);
    let mut g = guest("Orang 0");
    g.consent_version = "2026-07".into();
    g.consent_text = "Versi baru / new version".into();
    c.guest = Some(g);
    store.commit(c).unwrap();
    let mut c = commit("g-profile", &people[1], 11);
    let mut g = guest("Orang 1 (baru)");
    g.consent_text = "ignored: same version".into();
    c.guest = Some(g);
    store.commit(c).unwrap();

    let g0 = store.guest_of(&people[0]).unwrap().unwrap();
    assert_eq!(g0.consent_version, "2026-07");
    assert_eq!(g0.consent_text, "Versi baru / new version");
    let g1 = store.guest_of(&people[1]).unwrap().unwrap();
    assert_eq!(g1.consent_text, long);
    assert_eq!(
        g1.profile.get("name"),
        Some(&Answer::Text("Orang 1 (baru)".into()))
    );
    let all = store.guests().unwrap();
    assert_eq!(all.len(), 3);
    let texts: Vec<&str> = all.iter().map(|g| g.consent_text.as_str()).collect();
    assert_eq!(texts.iter().filter(|t| **t == long).count(), 2);
    assert!(texts.contains(&"Versi baru / new version"));

    // Walking the guest book in pages gives every guest once, in id order, with their texts.
    let mut walked = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = store.guests_page(after.as_deref(), 2).unwrap();
        assert!(page.len() <= 2);
        let Some(last) = page.last() else { break };
        after = Some(last.id.clone());
        walked.extend(page);
    }
    let mut by_id = all.clone();
    by_id.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(walked, by_id);
    assert!(
        store
            .guests_page(Some(&by_id[2].id), 10)
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.guests_page(None, 1).unwrap(), by_id[..1]);
}
