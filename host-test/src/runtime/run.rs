//! A whole tenant run: configure, then every page into a destination, each committed with its checkpoint.

use crate::describe::describe_change;
use crate::dest::{Destination, LoadRecord, unix_now};
use crate::error::{RunError, RunFailure};
use crate::runtime::{Plugin, block_on};
use crate::summary::RunSummary;
use crate::tenant::Tenant;
use crate::wit::Page;

impl Plugin {
    /// Configure, then move every page into `dest` until the connector is done or fails. On failure the
    /// summary of what was done (rows, last checkpoint, logs) comes with the error.
    ///
    /// The run resumes from the destination's own state ([`Destination::resume_state`]): its checkpoint starts
    /// the connector, and the destination drops rows written after it. Every page is committed (records, then
    /// checkpoint; [`Destination::send_page`], which may store it while the next page is fetched) and counted
    /// once the destination confirmed it; the end is committed as complete.
    pub async fn run_async<D: Destination + ?Sized>(
        &self,
        tenant: &Tenant,
        dest: &mut D,
    ) -> Result<RunSummary, RunFailure> {
        let mut summary = RunSummary::default();
        match self.run_into(tenant, dest, &mut summary).await {
            Ok(()) => Ok(summary),
            Err(error) => Err(RunFailure {
                error,
                summary: Box::new(summary),
            }),
        }
    }

    /// [`Plugin::run_async`] for synchronous callers, on an executor of its own.
    pub fn run(
        &self,
        tenant: &Tenant,
        dest: &mut dyn Destination,
    ) -> Result<RunSummary, RunFailure> {
        block_on(self.run_async(tenant, dest))
    }

    async fn run_into<D: Destination + ?Sized>(
        &self,
        tenant: &Tenant,
        dest: &mut D,
        summary: &mut RunSummary,
    ) -> Result<(), RunError> {
        // Before configure, so the store's deadlines (epoch, requests) fall after this clock's.
        let started = std::time::Instant::now();
        let started_at = unix_now();
        let resume = dest.resume_state()?;
        let resumed_from = resume.as_ref().map(|r| r.checkpoint.clone());
        let mut session = self
            .configure_async(tenant, resumed_from.as_deref())
            .await?;
        let declared = session.schema_async().await?;
        dest.declare(&declared)?;
        dest.begin(&session.resources, resume.as_ref())?;
        summary.rows = session
            .resources
            .iter()
            .filter(|r| r.selected)
            .map(|r| (r.name.clone(), 0))
            .collect();
        let over_budget = || tenant.limits.time_budget.filter(|b| started.elapsed() > *b);
        let budget_error = |pages| RunError::TimeBudget {
            seconds: over_budget().map_or(0.0, |b| b.as_secs_f64()),
            pages,
        };
        // The page sent to the destination and not yet confirmed: it is stored while the next one is fetched.
        let mut sent: Option<Page> = None;
        let outcome = loop {
            let next = session.next_page_async().await;
            if let Some(page) = sent.take() {
                if let Err(e) = dest.flush() {
                    break Err(e.into());
                }
                stored(tenant, summary, page);
            }
            match next {
                Ok(Some(page)) if page.records.len() > tenant.limits.page_bytes => {
                    break Err(RunError::PageTooLarge {
                        resource: page.resource,
                        bytes: page.records.len(),
                        limit: tenant.limits.page_bytes,
                    });
                }
                Ok(Some(page)) => {
                    if let Err(e) = dest.send_page(&page) {
                        break Err(e.into());
                    }
                    if over_budget().is_none() {
                        sent = Some(page);
                        continue;
                    }
                    // The first page boundary past the budget: this page is stored, and the run stops.
                    if let Err(e) = dest.flush() {
                        break Err(e.into());
                    }
                    stored(tenant, summary, page);
                    break Err(budget_error(summary.pages));
                }
                Ok(None) => {
                    // The end of the run: the last checkpoint again, marked complete.
                    let last = summary.last_checkpoint.clone().or(resumed_from);
                    break match last {
                        Some(cp) => dest.commit(&cp, true).map_err(RunError::from),
                        None => Ok(()),
                    };
                }
                // A request cut off at the deadline fails the connector; the budget is the cause.
                Err(RunError::Connector(_)) if over_budget().is_some() => {
                    break Err(budget_error(summary.pages));
                }
                Err(e) => break Err(e),
            }
        };
        summary.logs = session.take_logs();
        summary.egress = session.egress_events();
        summary.guest_memory_peak = session.guest_memory_peak();
        let finished = dest.finish();
        let load = LoadRecord {
            started: started_at,
            finished: unix_now(),
            rows: summary.rows.clone(),
            pages: summary.pages,
            error: outcome.as_ref().err().map(ToString::to_string),
        };
        let recorded = dest.record_load(&load);
        outcome?;
        finished?;
        Ok(recorded?)
    }
}

/// Count a page the destination confirmed as stored, and log its schema changes.
fn stored(tenant: &Tenant, summary: &mut RunSummary, page: Page) {
    if let Some(slot) = summary.rows.iter_mut().find(|(n, _)| *n == page.resource) {
        slot.1 += u64::from(page.record_count);
    }
    summary.pages += 1;
    for change in &page.schema_changes {
        tracing::info!(
            tenant = %tenant.name,
            "schema: {}",
            describe_change(&page.resource, change)
        );
        summary
            .schema_changes
            .push((page.resource.clone(), change.clone()));
    }
    summary.last_checkpoint = Some(page.checkpoint);
}
