//! SIGHUP reloads: one at a time, each within a timeout, none lost.
//!
//! * **Coalesced, never dropped.** Reloads run one after the other in one task. A SIGHUP
//!   that arrives during a reload is kept by the signal stream and starts one more
//!   reload when this one ends; several such signals make one reload, which reads the
//!   file as it is then.
//! * **Bounded.** The file is read and checked on a blocking thread; after
//!   [`RELOAD_TIMEOUT`] the reload is reported as failed and the previous model keeps
//!   serving. The model reader opens files without blocking and refuses anything but a
//!   regular file, so only a stalled file system can hold a read that long. The late
//!   result of such a read is discarded, and the next reload waits for it to end first
//!   (saying so) rather than start another read on the same stalled file system.
//! * **Schema changes are deliberate.** A model whose feature names differ is refused
//!   unless `--allow-feature-change` is given; either way the log says WARN with both
//!   feature lists.

use std::time::Duration;

use tokio::signal::unix::Signal;
use tokio::task::JoinHandle;

use super::state::{AppState, ReloadError, Reloaded};
use crate::text::name_list;

/// How long one reload may read and check the model file.
pub const RELOAD_TIMEOUT: Duration = Duration::from_secs(60);

/// Reloads once per SIGHUP (coalesced while a reload runs), for as long as the
/// process lives.
pub async fn on_signals(state: AppState, mut hup: Signal, timeout: Duration) {
    let mut late = None;
    while hup.recv().await.is_some() {
        tracing::info!(path = %state.model_path().display(), "SIGHUP received: reloading the model");
        let st = state.clone();
        let candidate = within(move || st.load_candidate(), timeout, &mut late).await;
        log_outcome(&state, state.finish_reload(candidate));
    }
}

/// Runs `load` on a blocking thread for at most `timeout`. A load still running then is
/// kept in `late`, and waited for (its result discarded) before the next one starts.
async fn within<T, L>(
    load: L,
    timeout: Duration,
    late: &mut Option<JoinHandle<Result<T, crate::model::ModelError>>>,
) -> Result<T, ReloadError>
where
    T: Send + 'static,
    L: FnOnce() -> Result<T, crate::model::ModelError> + Send + 'static,
{
    if let Some(previous) = late.take() {
        tracing::warn!(
            "the previous reload is still reading the model file; waiting for it to end"
        );
        let _ = previous.await;
    }
    let mut task = tokio::task::spawn_blocking(load);
    match tokio::time::timeout(timeout, &mut task).await {
        Ok(Ok(result)) => result.map_err(ReloadError::from),
        Ok(Err(e)) => Err(ReloadError::Task(e.to_string())),
        Err(_) => {
            *late = Some(task);
            Err(ReloadError::TimedOut(timeout))
        }
    }
}

/// Logs a reload's outcome: INFO when the model changed as expected, WARN when the
/// features changed or a change of features was refused, ERROR otherwise.
fn log_outcome(state: &AppState, outcome: Result<Reloaded, ReloadError>) {
    match outcome {
        Ok(r) if r.old == r.new => {
            tracing::info!(model = %r.new, "model reloaded (same file content)");
        }
        Ok(Reloaded {
            old,
            new,
            features_changed: Some((old_features, new_features)),
        }) => tracing::warn!(
            %old,
            %new,
            old_features = %name_list(&old_features),
            new_features = %name_list(&new_features),
            "model reloaded with different features (--allow-feature-change): clients must send the new ones"
        ),
        Ok(r) => tracing::info!(old = %r.old, new = %r.new, "model reloaded"),
        Err(ReloadError::FeaturesChanged { old, new }) => tracing::warn!(
            model = %state.current().model.id,
            old_features = %name_list(&old),
            new_features = %name_list(&new),
            "reload refused, still serving the previous model: the new model's features differ; restart or reload with --allow-feature-change to change them deliberately"
        ),
        Err(e) => tracing::error!(
            model = %state.current().model.id,
            "reload failed, still serving the previous model: {e}"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ModelError;

    fn unreadable() -> ModelError {
        ModelError::Unreadable {
            path: "m".into(),
            source: std::io::Error::other("stalled"),
        }
    }

    #[tokio::test]
    async fn a_load_beyond_the_timeout_fails_and_the_next_waits_for_it() {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let mut late = None;
        // A read that hangs until the test lets it go.
        let hanging = move || {
            let _ = rx.recv();
            Err::<u32, _>(unreadable())
        };
        let short = Duration::from_millis(50);
        let first = within(hanging, short, &mut late).await;
        assert!(matches!(first, Err(ReloadError::TimedOut(_))), "{first:?}");
        assert!(late.is_some(), "the hanging read is kept");
        // The next reload waits for it, then runs its own load.
        tx.send(()).unwrap();
        let second = within(|| Ok(7), short, &mut late).await;
        assert_eq!(second.unwrap(), 7);
        assert!(late.is_none());
    }
}
