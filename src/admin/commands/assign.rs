//! `ambil` (an officer takes a case) and `tugaskan` (a case is assigned to an officer).

use crate::admin::apply::Draft;
use crate::config::Role;
use crate::store::StoreError;

const TAKE_ROLES: &[Role] = &[Role::Petugas, Role::Walidata, Role::Pimpinan];
const ASSIGN_ROLES: &[Role] = &[Role::Pimpinan, Role::Admin, Role::Resepsionis];

/// `ambil`: the officer takes the case; the officers' chat is told.
pub(in crate::admin) fn take(d: &mut Draft, case: &str) -> Result<(), StoreError> {
    if !d.has_role(TAKE_ROLES) {
        d.refuse_role(TAKE_ROLES);
        return Ok(());
    }
    let Some(c) = d.case(case)? else {
        return Ok(());
    };
    let id = d.officer.id.clone();
    if let Some(e) = d.edits.get(d.ctx.store, &c.number)? {
        e.assignee = Some(id);
    }
    d.history(&c.number, "taken", None)?;
    let vars = [
        ("case", c.number.to_string()),
        ("name", d.officer.name.clone()),
    ];
    let answer = d.word("admin_taken", &vars);
    let post = d.word("officers_taken", &vars);
    d.announce(answer, post);
    Ok(())
}

/// `tugaskan`: the case goes to the officer named by id; the officers' chat is told.
pub(in crate::admin) fn assign(d: &mut Draft, case: &str, officer: &str) -> Result<(), StoreError> {
    if !d.has_role(ASSIGN_ROLES) {
        d.refuse_role(ASSIGN_ROLES);
        return Ok(());
    }
    let Some(target) = d.ctx.officers.iter().find(|o| o.id == officer) else {
        let ids: Vec<&str> = d.ctx.officers.iter().map(|o| o.id.as_str()).collect();
        let answer = d.word(
            "admin_no_such_officer",
            &[("known", ids.join(", ")), ("officer", officer.to_string())],
        );
        d.say(answer);
        return Ok(());
    };
    let target = target.clone();
    let Some(c) = d.case(case)? else {
        return Ok(());
    };
    if let Some(e) = d.edits.get(d.ctx.store, &c.number)? {
        e.assignee = Some(target.id.clone());
    }
    d.history(&c.number, "assigned", Some(target.id.clone()))?;
    let vars = [
        ("case", c.number.to_string()),
        ("name", target.name.clone()),
    ];
    let answer = d.word("admin_assigned", &vars);
    let post = d.word("officers_assigned", &vars);
    d.announce(answer, post);
    Ok(())
}
