//! Progress of a long fit: a bar on a terminal, a line about every 10 % elsewhere.
//!
//! A fit of a second or less shows nothing: the bar appears only after a second
//! (`indicatif` draws at most a few times a second, so ticking from worker threads is
//! cheap). Lines go to stderr, so stdout stays the command's own report.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Reports trees done out of a total.
pub struct Bar {
    bar: Option<ProgressBar>,
    total: usize,
    started: Instant,
    last_tenth: AtomicUsize,
    quiet: bool,
}

impl Bar {
    /// A reporter for `total` trees; `quiet` silences it.
    pub fn new(total: usize, quiet: bool) -> Bar {
        let terminal = std::io::stderr().is_terminal();
        let bar = (terminal && !quiet).then(|| {
            let bar =
                ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::hidden());
            bar.set_style(
                ProgressStyle::with_template(
                    "  trees {pos}/{len} [{bar:30}] {elapsed} (ETA {eta})",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        });
        Bar {
            bar,
            total,
            started: Instant::now(),
            last_tenth: AtomicUsize::new(0),
            quiet,
        }
    }

    /// `done` trees are finished.
    pub fn tick(&self, done: usize) {
        let late = self.started.elapsed() > Duration::from_secs(1);
        match &self.bar {
            Some(bar) => {
                if late && bar.is_hidden() {
                    bar.set_draw_target(ProgressDrawTarget::stderr());
                }
                bar.set_position(done as u64);
            }
            None if !self.quiet && late => self.line(done),
            None => {}
        }
    }

    /// A plain line each time another tenth of the trees is done.
    fn line(&self, done: usize) {
        let tenth = done * 10 / self.total.max(1);
        if self.last_tenth.fetch_max(tenth, Ordering::Relaxed) < tenth {
            eprintln!(
                "  trees {done}/{} ({:.1} s)",
                self.total,
                self.started.elapsed().as_secs_f64()
            );
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
