//! A case's path through its workflow as the report reads it from the case history: its stays
//! in each stage, when its result reached the applicant, and whether it was past a deadline.

use crate::cases::Case;
use crate::cases::calendar::OfficeCalendar;
use crate::cases::flow;
use crate::cases::sla::SlaUnit;
use crate::cases::workflow::Workflow;
use chrono::{DateTime, Duration, Utc};

/// One stay of a case in a stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageStay {
    pub stage: String,
    pub entered: DateTime<Utc>,
    /// `None`: the case is still there.
    pub left: Option<DateTime<Utc>>,
}

/// The stages a case went through, in order, from its history.
pub fn stays(wf: &Workflow, case: &Case) -> Vec<StageStay> {
    let mut out = vec![StageStay {
        stage: wf.start.clone(),
        entered: case.created_at,
        left: None,
    }];
    for e in &case.history {
        let Some(t) = wf.transition(&e.kind) else {
            continue;
        };
        let current = out.last_mut().expect("starts with one stay");
        if !t.from.contains(&current.stage) {
            continue;
        }
        current.left = Some(e.at);
        out.push(StageStay {
            stage: t.to.clone(),
            entered: e.at,
            left: None,
        });
    }
    out
}

/// When the case's result reached the applicant (see the module docs), and whether that stage
/// asked for a rating.
pub fn finished_at(wf: &Workflow, stays: &[StageStay]) -> Option<(DateTime<Utc>, bool)> {
    stays.iter().find_map(|s| {
        let st = wf.state(&s.stage)?;
        (st.ask_rating || st.is_final).then_some((s.entered, st.ask_rating))
    })
}

/// Whether the case is past a due time at `at` (it must be in progress then): its stage's or
/// its workflow's overall deadline by the SLA clock the workflow engine uses
/// ([`flow::deadlines`]), with the clock stops as they stood at `at`.
pub(super) fn overdue_at(
    wf: &Workflow,
    cal: &OfficeCalendar,
    case: &Case,
    stays: &[StageStay],
    at: DateTime<Utc>,
) -> bool {
    let Some(stay) = stays
        .iter()
        .rev()
        .find(|s| s.entered <= at && s.left.is_none_or(|l| l > at))
    else {
        return false;
    };
    if !wf.state(&stay.stage).is_some_and(|s| s.clock_runs) {
        return false;
    }
    let stops: Vec<_> = case
        .stops
        .iter()
        .filter(|(from, _)| *from < at)
        .map(|&(from, to)| (from, to.filter(|t| *t <= at)))
        .collect();
    let d = flow::deadlines(
        wf,
        cal,
        &stay.stage,
        flow::sla_start(wf, &stay.stage, stay.entered, case.created_at),
        overall_start(wf, stays).filter(|start| *start <= at),
        &stops,
    );
    d.stage.is_some_and(|due| due < at) || d.overall.is_some_and(|due| due < at)
}

/// When the case's overall clock started: its first entry into the workflow's overall start
/// state (none for a workflow without an overall standard, or a case that never got there).
pub(super) fn overall_start(wf: &Workflow, stays: &[StageStay]) -> Option<DateTime<Utc>> {
    let o = wf.overall.as_ref()?;
    stays.iter().find(|s| s.stage == o.from).map(|s| s.entered)
}

/// A stay's length in the unit of its SLA.
pub(super) fn measure(
    cal: &OfficeCalendar,
    unit: SlaUnit,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> f64 {
    let hours = |d: Duration| d.num_seconds() as f64 / 3600.0;
    match unit {
        SlaUnit::Hours => hours(to - from),
        SlaUnit::Days => hours(to - from) / 24.0,
        SlaUnit::WorkingHours => hours(cal.working_time_between(from, to, &[])),
        SlaUnit::WorkingDays => f64::from(cal.working_days_between(from, to)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cases::CaseNumber;
    use crate::cases::calendar::tests::{calendar, wib};
    use crate::config::Role;
    use crate::message::{ChannelKind, Identity};

    fn workflow() -> Workflow {
        crate::cases::workflow::parse_workflow(
            "rek-bengkulu.toml",
            include_str!("../../../dialogs/workflows/rek-bengkulu.toml"),
            &["id".to_string(), "en".to_string()],
        )
        .expect("the shipped workflow loads")
    }

    /// A new case, with the due dates the workflow engine gives it.
    fn new_case(wf: &Workflow, cal: &OfficeCalendar, at: DateTime<Utc>) -> Case {
        let d = flow::dues(wf, cal, &wf.start, at, at, None, &[]);
        Case {
            number: CaseNumber::parse("REK-2026-000001").expect("a case number"),
            guest_id: "g".into(),
            origin: Identity::new(ChannelKind::Terminal, "budi"),
            lang: "id".into(),
            title: "Survei".into(),
            created_at: at,
            workflow: wf.id.clone(),
            stage: wf.start.clone(),
            stage_since: at,
            stage_due: d.stage_due,
            overall_start: d.overall_start,
            overall_due: d.overall_due,
            stops: Vec::new(),
            assignee: None,
            open: true,
            confidential: false,
            form: Vec::new(),
            attachments: Vec::new(),
            history: Vec::new(),
            version: 1,
        }
    }

    /// The report calls a case overdue exactly when the workflow engine's due date has passed.
    fn agrees(wf: &Workflow, cal: &OfficeCalendar, case: &Case) {
        let due = case.due().expect("the stage has a due date");
        let stays = stays(wf, case);
        let second = Duration::seconds(1);
        assert!(
            !overdue_at(wf, cal, case, &stays, due - second),
            "{}: not overdue before {due}",
            case.stage
        );
        assert!(
            overdue_at(wf, cal, case, &stays, due + second),
            "{}: overdue after {due}",
            case.stage
        );
    }

    #[test]
    fn the_report_and_the_workflow_engine_share_one_sla_clock() {
        let wf = workflow();
        let cal = calendar();
        let walidata = flow::Who::Officer {
            id: "w",
            roles: &[Role::Walidata],
        };
        let t0 = wib(2026, 11, 23, 9, 0);
        let mut case = new_case(&wf, &cal, t0);
        agrees(&wf, &cal, &case);
        // Returned for revision: the clock stops for three days, then runs again.
        for (step, who, note, at) in [
            (
                "kembalikan",
                &walidata,
                Some("lengkapi"),
                t0 + Duration::days(2),
            ),
            (
                "diperbaiki",
                &flow::Who::Applicant,
                None,
                t0 + Duration::days(5),
            ),
        ] {
            let t = wf.transition(step).expect("a transition of the workflow");
            case = flow::apply(&wf, &cal, &case, t, who, note, at).expect("allowed");
        }
        assert_eq!(case.stage, "walidata_review");
        agrees(&wf, &cal, &case);
        // Late in the overall standard: the overall due date (stop excluded) binds first.
        let t = wf
            .transition("setujui")
            .expect("a transition of the workflow");
        case = flow::apply(
            &wf,
            &cal,
            &case,
            t,
            &walidata,
            None,
            t0 + Duration::days(35),
        )
        .expect("allowed");
        assert_eq!(case.due(), case.overall_due);
        // 30 working days (rek-bengkulu, issue 20 item 11): 24 and 25 November before the
        // stop, 28 more after it (this test calendar's one holiday: 25 December): Thursday
        // 7 January 2027.
        assert_eq!(case.overall_due, Some(wib(2027, 1, 7, 15, 30)));
        agrees(&wf, &cal, &case);
    }
}
