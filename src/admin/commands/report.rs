//! `laporan`: the monthly report for the officer who asked — the summary, with the XLSX
//! workbook and the chart as files (their bytes kept as blobs in the same commit, like
//! officers' files).

use crate::admin::apply::Draft;
use crate::config::Role;
use crate::message::{Attachment, OutboundMessage};
use crate::plan::attachment_ref;
use crate::reports::{Period, ReportError, monthly::MonthlyReport};
use crate::store::StoreError;

/// The monthly report shows the office's performance: for the head of office and the admin.
/// (The walidata belongs to the regional government, not to the office.)
const REPORT_ROLES: &[Role] = &[Role::Pimpinan, Role::Admin];

/// `laporan [YYYY-MM]`: the report of that month, or of the running one.
pub(in crate::admin) fn monthly(d: &mut Draft, month: Option<&str>) -> Result<(), StoreError> {
    if !d.has_role(REPORT_ROLES) {
        d.refuse_role(REPORT_ROLES);
        return Ok(());
    }
    let ctx = d.ctx;
    let now = ctx.now;
    let cal = &ctx.bot.calendar;
    let period = match month {
        Some(m) => Period::month(cal, m),
        None => Period::current_month(cal, now),
    };
    let Ok(period) = period else {
        let answer = d.word("admin_report_month_format", &[]);
        d.say(answer);
        return Ok(());
    };
    if period.from > now {
        let answer = d.word("admin_report_not_started", &[("month", period.label())]);
        d.say(answer);
        return Ok(());
    }
    let made = MonthlyReport::build(ctx.store, ctx.bot, period, now).and_then(|r| {
        let xlsx = r.xlsx()?;
        let png = r.chart()?;
        Ok((r, xlsx, png))
    });
    let (r, xlsx, png) = match made {
        Ok(x) => x,
        Err(ReportError::Store(e)) => return Err(e),
        Err(e) => {
            tracing::error!(error = %e, "monthly report failed");
            let answer = d.word("admin_report_failed", &[]);
            d.say(answer);
            return Ok(());
        }
    };
    let mut msg = OutboundMessage::text(d.me.clone(), r.summary_text());
    for (name, mime, bytes) in [
        (
            r.xlsx_name(),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            xlsx,
        ),
        (r.chart_name(), "image/png", png),
    ] {
        let (file, bytes) = attachment_ref(&Attachment {
            filename: name,
            mime: mime.into(),
            bytes,
        });
        d.commit.blobs.push((file.blob.clone(), bytes));
        msg.files.push(file);
    }
    d.out.push(msg);
    Ok(())
}
