//! The library's modules form layers: no module depends on one that depends back on it,
//! directly or through others. This test reads every source file of the library, collects
//! the modules each one refers to, and fails naming the cycle if there is one.
//!
//! It reads paths, not types: `use` trees and `crate::`, `super::`, `self::` and
//! child-module paths in code. Comments and string literals are left out, and so are
//! `#[cfg(test)]` items (tests may use any layer).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// A module path: `[]` is the crate root, `["server", "rows"]` is `server::rows`.
type Module = Vec<String>;
/// Each module and the modules it refers to.
type Graph = BTreeMap<Module, BTreeSet<Module>>;

fn name(module: &[String]) -> String {
    if module.is_empty() {
        "crate".to_owned()
    } else {
        module.join("::")
    }
}

/// Every library source file under `dir`, by module (`main.rs` belongs to the binary).
fn sources(src: &Path, dir: &Path, out: &mut BTreeMap<Module, String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(src, &path, out);
            continue;
        }
        let rel = path.strip_prefix(src).unwrap().with_extension("");
        let mut module: Module = rel.iter().map(|s| s.to_string_lossy().into()).collect();
        if path.extension().is_none_or(|e| e != "rs") || module == ["main"] {
            continue;
        }
        if matches!(module.last().map(String::as_str), Some("mod" | "lib")) {
            module.pop();
        }
        out.insert(module, std::fs::read_to_string(&path).unwrap());
    }
}

/// The source with comments removed and string and character literals emptied.
fn code_only(src: &str) -> String {
    let c: Vec<char> = src.chars().collect();
    let at = |i: usize| c.get(i).copied().unwrap_or('\0');
    let ident = |i: usize| i < c.len() && (c[i].is_alphanumeric() || c[i] == '_');
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < c.len() {
        let raw_start = c[i] == 'r'
            && (i == 0 || !ident(i - 1) || (c[i - 1] == 'b' && (i == 1 || !ident(i - 2))));
        let hashes = (i + 1..c.len()).take_while(|&j| c[j] == '#').count();
        if c[i] == '/' && at(i + 1) == '/' {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if c[i] == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            while i < c.len() {
                match (c[i], at(i + 1)) {
                    ('/', '*') => (depth, i) = (depth + 1, i + 2),
                    ('*', '/') => (depth, i) = (depth - 1, i + 2),
                    _ => i += 1,
                }
                if depth == 0 {
                    break;
                }
            }
        } else if raw_start && at(i + 1 + hashes) == '"' {
            let close: Vec<char> = std::iter::once('"').chain(vec!['#'; hashes]).collect();
            i += 2 + hashes;
            while i < c.len() && !c[i..].starts_with(&close) {
                i += 1;
            }
            i += close.len();
            out.push_str("\"\"");
        } else if c[i] == '"' {
            i += 1;
            while i < c.len() && c[i] != '"' {
                i += if c[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if c[i] == '\'' && (at(i + 1) == '\\' || at(i + 2) == '\'') {
            i += if at(i + 1) == '\\' { 3 } else { 2 };
            while i < c.len() && c[i] != '\'' {
                i += 1;
            }
            i += 1;
            out.push_str("' '");
        } else {
            out.push(c[i]);
            i += 1;
        }
    }
    out
}

/// Identifiers, `::`, and single punctuation characters.
fn tokens(code: &str) -> Vec<String> {
    let c: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        let start = i;
        if c[i].is_alphanumeric() || c[i] == '_' {
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
        } else if c[i] == ':' && c.get(i + 1) == Some(&':') {
            i += 2;
        } else {
            i += 1;
            if c[start].is_whitespace() {
                continue;
            }
        }
        out.push(c[start..i].iter().collect());
    }
    out
}

fn is_ident(t: &str) -> bool {
    t.starts_with(|c: char| c.is_alphabetic() || c == '_')
}

/// The paths of a `use` tree starting at `t[*i]`; leaves `*i` after the tree.
fn use_tree(t: &[String], i: &mut usize, prefix: &[String], out: &mut Vec<Module>) {
    let mut path = prefix.to_vec();
    while *i < t.len() {
        if t[*i] == "{" {
            *i += 1;
            while *i < t.len() && t[*i] != "}" {
                use_tree(t, i, &path, out);
                if t.get(*i).is_some_and(|s| s == ",") {
                    *i += 1;
                }
            }
            *i += 1;
            return;
        }
        if is_ident(&t[*i]) && t[*i] != "as" {
            if t[*i] != "self" || path.is_empty() {
                path.push(t[*i].clone());
            }
            *i += 1;
            if t.get(*i).is_some_and(|s| s == "::") {
                *i += 1;
                continue;
            }
            if t.get(*i).is_some_and(|s| s == "as") {
                *i += 2;
            }
        } else if t[*i] == "*" {
            *i += 1;
        }
        break;
    }
    out.push(path);
}

/// The module a path written in `scope` refers to, if it is one of `modules` (or inside
/// one); `None` for other crates and local names.
fn resolve(scope: &[String], path: &[String], modules: &BTreeSet<Module>) -> Option<Module> {
    let first = path.first()?;
    let (mut base, rest) = match first.as_str() {
        "crate" => (Vec::new(), &path[1..]),
        "self" => (scope.to_vec(), &path[1..]),
        "super" => {
            let ups = path.iter().take_while(|s| *s == "super").count();
            (
                scope[..scope.len().saturating_sub(ups)].to_vec(),
                &path[ups..],
            )
        }
        _ => {
            let child = [scope, &path[..1]].concat();
            if !modules.iter().any(|m| m.starts_with(&child)) {
                return None;
            }
            (scope.to_vec(), path)
        }
    };
    base.extend_from_slice(rest);
    while !modules.contains(&base) {
        base.pop();
    }
    Some(base)
}

/// Skips the item at `t[*i]`: up to a `;` or the end of its `{...}` block.
fn skip_item(t: &[String], i: &mut usize) {
    let mut depth = 0i32;
    while *i < t.len() {
        let tok = t[*i].as_str();
        *i += 1;
        match tok {
            "{" | "(" | "[" => depth += 1,
            "}" | ")" | "]" => {
                depth -= 1;
                if depth == 0 && tok == "}" {
                    return;
                }
            }
            ";" if depth == 0 => return,
            _ => {}
        }
    }
}

/// The modules that the file of `module` refers to.
fn references(module: &[String], src: &str, modules: &BTreeSet<Module>) -> BTreeSet<Module> {
    let t = tokens(&code_only(src));
    let is = |i: usize, s: &str| t.get(i).is_some_and(|x| x == s);
    let mut scopes: Vec<(Module, i32)> = vec![(module.to_vec(), 0)];
    let (mut depth, mut i, mut out) = (0, 0, BTreeSet::new());
    while i < t.len() {
        let scope = scopes.last().unwrap().0.clone();
        let mut paths = Vec::new();
        if ["#", "[", "cfg", "(", "test", ")", "]"]
            .iter()
            .enumerate()
            .all(|(k, s)| is(i + k, s))
        {
            i += 7;
            skip_item(&t, &mut i);
            continue;
        } else if is(i, "mod") && t.get(i + 1).is_some_and(|s| is_ident(s)) && is(i + 2, "{") {
            scopes.push(([scope, vec![t[i + 1].clone()]].concat(), depth + 1));
            i += 2;
            continue;
        } else if is(i, "{") || is(i, "}") {
            depth += if is(i, "{") { 1 } else { -1 };
            if scopes.len() > 1 && depth < scopes.last().unwrap().1 {
                scopes.pop();
            }
            i += 1;
        } else if is(i, "use") && !is(i + 1, "<") {
            i += 1;
            use_tree(&t, &mut i, &[], &mut paths);
        } else if is_ident(&t[i]) && is(i + 1, "::") && (i == 0 || !is(i - 1, "::")) {
            let mut path = vec![t[i].clone()];
            i += 1;
            while is(i, "::") && t.get(i + 1).is_some_and(|s| is_ident(s)) {
                path.push(t[i + 1].clone());
                i += 2;
            }
            paths.push(path);
        } else {
            i += 1;
        }
        out.extend(paths.iter().filter_map(|p| resolve(&scope, p, modules)));
    }
    out.remove(module);
    out
}

fn graph(files: &BTreeMap<Module, String>) -> Graph {
    let modules: BTreeSet<Module> = files.keys().cloned().collect();
    files
        .iter()
        .map(|(m, src)| (m.clone(), references(m, src, &modules)))
        .collect()
}

/// A cycle of `graph` (first module repeated at the end), if there is one.
fn find_cycle(graph: &Graph) -> Option<Vec<String>> {
    fn visit<'a>(
        node: &'a Module,
        graph: &'a Graph,
        done: &mut BTreeSet<&'a Module>,
        path: &mut Vec<&'a Module>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|m| *m == node) {
            let cycle = path[start..].iter().chain([&node]);
            return Some(cycle.map(|m| name(m)).collect());
        }
        if !done.insert(node) {
            return None;
        }
        path.push(node);
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, done, path) {
                return Some(cycle);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|m| visit(m, graph, &mut done, &mut Vec::new()))
}

fn module(s: &str) -> Module {
    s.split("::")
        .filter(|p| *p != "crate")
        .map(Into::into)
        .collect()
}

#[test]
fn the_library_has_no_import_cycles() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = BTreeMap::new();
    sources(&src, &src, &mut files);
    let graph = graph(&files);
    // The scanner sees real references: a sample of edges that exist.
    for (from, to) in [
        ("server::state", "model"),
        ("server::routes", "server::openapi"),
        ("server::predict", "server::rows"),
        ("server", "server::lifecycle"),
    ] {
        assert!(graph[&module(from)].contains(&module(to)), "{from} -> {to}");
    }
    if let Some(cycle) = find_cycle(&graph) {
        panic!("modules import each other: {}", cycle.join(" -> "));
    }
}

#[test]
fn the_scanner_reads_use_trees_and_code_paths_but_not_comments_strings_or_tests() {
    let src = r##"
        // use crate::commented;
        /// [`crate::documented`]
        use super::{c::{self, X}, d as alias};
        use crate::f::g::H;
        fn x<'a>(s: &'a str) {
            let _ = ("crate::quoted", r#"super::raw"#, '"', '{');
            crate::j::k();
            child::call();
        }
        mod inner {
            use super::super::e;
        }
        #[cfg(test)]
        mod tests {
            use crate::tested;
        }
    "##;
    let modules: BTreeSet<Module> = [
        "crate",
        "p",
        "p::q",
        "p::q::child",
        "p::c",
        "p::d",
        "p::e",
        "f",
        "f::g",
        "j",
        "commented",
        "documented",
        "quoted",
        "raw",
        "tested",
    ]
    .into_iter()
    .map(module)
    .collect();
    let found: Vec<String> = references(&module("p::q"), src, &modules)
        .iter()
        .map(|m| name(m))
        .collect();
    assert_eq!(found, ["f::g", "j", "p::c", "p::d", "p::e", "p::q::child"]);

    let mut cyclic = Graph::new();
    for (from, to) in [("a", "b"), ("b", "c"), ("c", "d"), ("c", "a")] {
        cyclic.entry(module(from)).or_default().insert(module(to));
    }
    assert_eq!(find_cycle(&cyclic).unwrap(), ["a", "b", "c", "a"]);
}
