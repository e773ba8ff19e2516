//! The checks that need a whole dialog, or every dialog: every step reference resolves, every
//! step is reachable, each kind's own dialog-wide checks pass, and the dialogs that options
//! start exist, as do the menu and (when needed) the guest book.

use crate::dialogs::spec::{Dialog, FinishAction, Next, Step};
use crate::text::LoadError;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// The targets a step can go to: its `next` and its kind's branches.
fn targets(step: &Step) -> Vec<&Next> {
    let mut t = vec![&step.next];
    t.extend(step.kind.rules().branches());
    t
}

/// Checks what spans one dialog: references, each kind's own checks, the title field, and
/// that every step can be reached.
pub(super) fn check_references(d: &Dialog, errors: &mut Vec<LoadError>) {
    let ids: BTreeSet<&str> = d.steps.iter().map(|s| s.id.as_str()).collect();
    for (what, id) in [
        ("start", Some(&d.start)),
        ("returning_start", d.returning_start.as_ref()),
    ] {
        if let Some(id) = id
            && !ids.contains(id.as_str())
        {
            errors.push(LoadError::new(
                &d.file,
                None,
                format!("{what} names unknown step `{id}`"),
            ));
        }
    }
    for s in &d.steps {
        for t in targets(s) {
            if let Next::Step(n) = t
                && !ids.contains(n.as_str())
            {
                errors.push(LoadError::new(
                    &d.file,
                    Some(&s.id),
                    format!("goes to unknown step `{n}`"),
                ));
            }
        }
        for problem in s.kind.rules().check(d) {
            errors.push(LoadError::new(&d.file, Some(&s.id), problem));
        }
    }
    if let Some(f) = &d.finish.title_field
        && !d.steps.iter().any(|s| &s.field == f)
    {
        errors.push(LoadError::new(
            &d.file,
            None,
            format!("finish.title_field `{f}` is not the field of any step"),
        ));
    }
    check_reachable(d, errors);
}

/// Reachability: a breadth-first walk from the start steps. (A summary can jump back to any
/// answered step to change it, so that adds no edge.)
fn check_reachable(d: &Dialog, errors: &mut Vec<LoadError>) {
    let mut reached = BTreeSet::new();
    let mut queue: VecDeque<&str> = VecDeque::new();
    queue.push_back(&d.start);
    if let Some(r) = &d.returning_start {
        queue.push_back(r);
    }
    while let Some(id) = queue.pop_front() {
        if !reached.insert(id) {
            continue;
        }
        if let Some(s) = d.step(id) {
            for t in targets(s) {
                if let Next::Step(n) = t {
                    queue.push_back(n);
                }
            }
        }
    }
    for s in &d.steps {
        if !reached.contains(s.id.as_str()) {
            errors.push(LoadError::new(
                &d.file,
                Some(&s.id),
                "is unreachable from the start step",
            ));
        }
    }
}

/// Checks what spans dialogs: dialogs started by options exist, the menu and guest book exist.
pub(super) fn cross_check(dialogs: &BTreeMap<String, Dialog>, errors: &mut Vec<LoadError>) {
    if !dialogs.contains_key("menu") {
        errors.push(LoadError::new(
            "menu.toml",
            None,
            "missing: a dialog with id `menu` is required",
        ));
    }
    let needs_guest = dialogs.values().any(|d| d.requires_guest);
    if needs_guest
        && !dialogs
            .get("guestbook")
            .is_some_and(|g| g.finish.action == FinishAction::SaveGuest)
    {
        errors.push(LoadError::new(
            "guestbook.toml",
            None,
            "missing: a dialog `guestbook` with finish.action = \"save_guest\" is required by dialogs with requires_guest",
        ));
    }
    for d in dialogs.values() {
        for s in &d.steps {
            for t in targets(s) {
                if let Next::Start(other) = t
                    && !dialogs.contains_key(other)
                {
                    errors.push(LoadError::new(
                        &d.file,
                        Some(&s.id),
                        format!("starts unknown dialog `{other}`"),
                    ));
                }
            }
        }
    }
}
