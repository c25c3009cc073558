//! Command-line misuse, said in one line.
//!
//! clap explains a bad command line over several paragraphs (the error, a tip, the
//! usage, a pointer to `--help`). The project promises misuse "a clear one-line error":
//! one line is what a script's log, a lab handout or `2>&1 | head -1` shows whole. This
//! folds clap's paragraphs into that line and keeps every fact in them.

/// `err`'s message as a single `netstack: ...` line (without the newline).
///
/// ```text
/// netstack: the following required arguments were not provided: <HOST> (usage: netstack ping <HOST>)
/// ```
pub fn one_line(err: &clap::Error) -> String {
    // `render` gives the text as clap would print it; Display on it has no colours.
    fold(&err.render().to_string())
}

/// Folds clap's rendered error text into one line.
fn fold(rendered: &str) -> String {
    let mut message = String::new();
    let mut usage = None;
    for paragraph in rendered.split("\n\n") {
        let joined = paragraph
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        if joined.is_empty() || joined.starts_with("For more information") {
            continue;
        }
        if let Some(rest) = joined.strip_prefix("Usage:") {
            usage = Some(rest.trim().to_string());
            continue;
        }
        if !message.is_empty() {
            message.push_str("; ");
        }
        message.push_str(joined.strip_prefix("error:").unwrap_or(&joined).trim());
    }
    let hint = match usage {
        Some(usage) => format!("usage: {usage}"),
        None => "see netstack --help".to_string(),
    };
    format!("netstack: {message} ({hint})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_argument_names_it_and_the_usage() {
        let clap_text = "error: the following required arguments were not provided:\n  \
                         <HOST>\n\nUsage: netstack ping <HOST>\n\nFor more information, \
                         try '--help'.\n";
        assert_eq!(
            fold(clap_text),
            "netstack: the following required arguments were not provided: <HOST> \
             (usage: netstack ping <HOST>)"
        );
    }

    #[test]
    fn a_tip_is_kept_and_a_bad_value_points_to_help() {
        let clap_text = "error: unrecognized subcommand 'eco'\n\n  tip: a similar subcommand \
                         exists: 'echo'\n\nUsage: netstack [OPTIONS] [COMMAND]\n\nFor more \
                         information, try '--help'.\n";
        assert_eq!(
            fold(clap_text),
            "netstack: unrecognized subcommand 'eco'; tip: a similar subcommand exists: \
             'echo' (usage: netstack [OPTIONS] [COMMAND])"
        );
        let clap_text = "error: invalid value 'x' for '--addr <A.B.C.D/N>': expected \
                         A.B.C.D/N\n\nFor more information, try '--help'.\n";
        assert_eq!(
            fold(clap_text),
            "netstack: invalid value 'x' for '--addr <A.B.C.D/N>': expected A.B.C.D/N \
             (see netstack --help)"
        );
    }
}
