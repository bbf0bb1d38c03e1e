//! How a command's error reaches the user: one line, with the flag to change.

use std::io;

/// A library error with the command's advice appended: which flag or argument to
/// change. The library cannot know how its input was given; the command does.
#[derive(Debug, thiserror::Error)]
#[error("{source}; {hint}")]
pub struct Hint {
    source: Box<dyn std::error::Error + Send + Sync>,
    hint: String,
}

/// Appends `hint` to an error's message (see [`Hint`]).
pub fn hint<E>(hint: impl Into<String>) -> impl FnOnce(E) -> anyhow::Error
where
    E: std::error::Error + Send + Sync + 'static,
{
    move |source| {
        Hint {
            source: Box::new(source),
            hint: hint.into(),
        }
        .into()
    }
}

/// The error and its causes on one line, "what: why". Our error types already quote
/// their cause in their own message (so a log line that prints only the error says it
/// too); a cause already in the line is not repeated.
pub fn error_line(e: &anyhow::Error) -> String {
    let mut line = e.to_string();
    for cause in e.chain().skip(1) {
        let cause = cause.to_string();
        if !line.contains(&cause) {
            line.push_str(": ");
            line.push_str(&cause);
        }
    }
    line
}

/// True when the error comes from writing to a pipe whose reader has gone: only stdout
/// is ever a pipe here (files are written through `atomic`, data is only read).
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        let io = match cause.downcast_ref::<csv::Error>().map(csv::Error::kind) {
            Some(csv::ErrorKind::Io(io)) => Some(io),
            _ => cause.downcast_ref::<io::Error>(),
        };
        io.is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}
