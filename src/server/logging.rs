//! Log lines that stay lines: the human format escapes control characters in every
//! field and message.
//!
//! Logged values come from files and requests we do not control: a model's name is by
//! default its data file's stem, and a stem may hold a newline (which would forge a log
//! line) or a terminal escape sequence. The JSON format escapes them by being JSON; the
//! human format writes fields through [`EscapedFields`], which escapes them the way
//! `inspect` and every message do ([`crate::text::printable`]).

use std::fmt::{self, Write as _};

use tracing::field::{Field, Visit};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::FormatFields;
use tracing_subscriber::fmt::format::Writer;

use crate::text::printable;

/// Formats an event's or span's fields as `message key=value ...`, each value made
/// printable: no newline, carriage return or escape character reaches the log raw.
#[derive(Debug, Clone, Copy, Default)]
pub struct EscapedFields;

impl<'w> FormatFields<'w> for EscapedFields {
    fn format_fields<R: RecordFields>(&self, writer: Writer<'w>, fields: R) -> fmt::Result {
        let mut visitor = Escaping {
            writer,
            result: Ok(()),
            first: true,
        };
        fields.record(&mut visitor);
        visitor.result
    }
}

struct Escaping<'w> {
    writer: Writer<'w>,
    result: fmt::Result,
    first: bool,
}

impl Escaping<'_> {
    fn write(&mut self, field: &Field, value: &str) {
        // Fields the `log` bridge adds (`log.target`, ...) say nothing new.
        if self.result.is_err() || field.name().starts_with("log.") {
            return;
        }
        let separator = if self.first { "" } else { " " };
        self.first = false;
        let value = printable(value);
        self.result = match field.name() {
            "message" => write!(self.writer, "{separator}{value}"),
            name => write!(self.writer, "{separator}{name}={value}"),
        };
    }
}

impl Visit for Escaping<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.write(field, value);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let mut text = String::new();
        let _ = write!(text, "{value:?}");
        self.write(field, &text);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[test]
    fn fields_and_messages_cannot_forge_a_line_or_send_escapes() {
        let out = Arc::new(Mutex::new(Vec::<u8>::new()));
        let sink = out.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .fmt_fields(EscapedFields)
            .with_writer(move || Sink(sink.clone()))
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let name = "iris\n2026-01-01T00:00:00Z  INFO forged";
            tracing::info!(name = %name, trees = 3, "loaded \u{1b}[2J{}", "model");
        });
        let text = String::from_utf8(out.lock().unwrap().clone()).unwrap();
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(!text.contains('\u{1b}'), "{text}");
        assert!(
            text.contains(
                r"loaded \u{1b}[2Jmodel name=iris\n2026-01-01T00:00:00Z  INFO forged trees=3"
            ),
            "{text}"
        );
    }

    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
}
