//! Text from data and model files, made fit for a message.
//!
//! Names and values in errors, logs and `inspect` come from files we do not control: a
//! cell may be megabytes long, a header may have ten thousand columns, a class name may
//! hold a terminal escape sequence. The CLI and the server quote them through these
//! functions so that every message stays one readable, safe line.

/// How a cell's text is quoted in a message: whole when short, else its first 40
/// characters and its length. A message is one line for a human; a cell of megabytes
/// (a run of digits, a file pasted into a column) must not become a megabyte of error.
pub fn shown(cell: &str) -> String {
    const MAX_CHARS: usize = 40;
    match cell.char_indices().nth(MAX_CHARS) {
        None => printable(cell).into_owned(),
        Some((end, _)) => format!("{}… ({} bytes)", printable(&cell[..end]), cell.len()),
    }
}

/// Text from a data or model file, made safe for a terminal: control characters are
/// written as escapes (`\u{1b}`), so a name holding an escape sequence cannot move the
/// cursor, retitle the window or clear the screen of whoever prints it.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// A list of column names for a message: all of them up to 10, else the first 10 and
/// how many more. A 10,000-column file must not turn one error into 70 KB of names.
pub fn name_list<S: AsRef<str>>(names: &[S]) -> String {
    const MAX_NAMES: usize = 10;
    let shown: Vec<_> = names
        .iter()
        .take(MAX_NAMES)
        .map(|n| printable(n.as_ref()))
        .collect();
    let mut list = shown.join(", ");
    if names.len() > MAX_NAMES {
        list.push_str(&format!(" and {} more", names.len() - MAX_NAMES));
    }
    list
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_name_lists_are_shortened_in_messages() {
        assert_eq!(name_list(&["a", "b"]), "a, b");
        let many: Vec<String> = (0..12).map(|i| i.to_string()).collect();
        assert_eq!(name_list(&many), "0, 1, 2, 3, 4, 5, 6, 7, 8, 9 and 2 more");
    }

    #[test]
    fn long_cells_are_shortened_in_messages() {
        assert_eq!(shown("5.1"), "5.1");
        let long = "é".repeat(50);
        assert_eq!(shown(&long), format!("{}… (100 bytes)", "é".repeat(40)));
    }
}
