//! A small check runner: each check is a closure whose `Ok` text is printed as detail,
//! failures are counted rather than fatal, and clean-up steps registered along the way
//! run at the end as checks of their own.

use anyhow::{Result, ensure};
use std::time::Instant;

type Undo = Box<dyn FnOnce() -> Result<String>>;

/// The checks run so far, and what to undo at the end.
pub struct Suite {
    passed: usize,
    failed: Vec<String>,
    skipped: Vec<String>,
    start: Instant,
    /// Run last-in first-out by [`Suite::finish`], each as a counted check.
    undo: Vec<(String, Undo)>,
}

impl Suite {
    pub fn new() -> Suite {
        let (failed, skipped, undo) = (Vec::new(), Vec::new(), Vec::new());
        Suite {
            passed: 0,
            failed,
            skipped,
            start: Instant::now(),
            undo,
        }
    }

    fn print(&self, status: &str, line: &str) {
        println!(
            "[{:6.1}s] {status:5} {line}",
            self.start.elapsed().as_secs_f64()
        );
    }

    /// Runs one check and prints it with its `Ok` text as detail; true when it passed.
    pub fn check(&mut self, name: &str, f: impl FnOnce() -> Result<String>) -> bool {
        let t = Instant::now();
        match f() {
            Ok(detail) => {
                self.passed += 1;
                let detail = if detail.is_empty() {
                    detail
                } else {
                    format!(": {detail}")
                };
                self.print(
                    "ok",
                    &format!("{name} ({:.1}s){detail}", t.elapsed().as_secs_f64()),
                );
                true
            }
            Err(e) => {
                self.fail(name, &format!("{e:#}"));
                false
            }
        }
    }

    pub fn fail(&mut self, name: &str, why: &str) {
        self.print("FAIL", &format!("{name}: {why}"));
        self.failed.push(name.to_string());
    }

    pub fn skip(&mut self, name: &str, why: &str) {
        self.print("SKIP", &format!("{name}: {why}"));
        self.skipped.push(format!("{name}: {why}"));
    }

    /// Registers a clean-up step at once, so it runs even when a later check aborts.
    pub fn undo(&mut self, name: String, f: impl FnOnce() -> Result<String> + 'static) {
        self.undo.push((name, Box::new(f)));
    }

    /// Runs the clean-up steps, prints the summary, and fails when a check failed.
    pub fn finish(mut self) -> Result<()> {
        while let Some((name, f)) = self.undo.pop() {
            self.check(&format!("cleanup: {name}"), f);
        }
        println!();
        self.failed.iter().for_each(|f| println!("failed: {f}"));
        self.skipped.iter().for_each(|s| println!("skipped: {s}"));
        println!("e2e took {:.0} s", self.start.elapsed().as_secs_f64());
        let mut line = format!("e2e: {} passed, {} failed", self.passed, self.failed.len());
        if !self.skipped.is_empty() {
            line.push_str(&format!(", {} skipped", self.skipped.len()));
        }
        println!("{line}");
        ensure!(
            self.failed.is_empty(),
            "{} e2e checks failed",
            self.failed.len()
        );
        Ok(())
    }
}
