//! Module layering of the `netstack-core` crate, checked from its source text.
//!
//! Data flows down on receive and down once on transmit; a layer never imports an upper one.
//! So (1) the module graph, file A -> file B when A names an item of B, has no cycle, and
//! (2) only the files in [`STACK_IMPL_FILES`] add `impl` blocks to `Stack`, so lower layers
//! do not grow methods on the top-level type and reach back up through it.
//!
//! Edges come from `use` trees (nested braces included) and inline paths, whichever way they
//! are written: `crate::a::b`, `super::b` (and `super::super::`), `self::b`, or a child
//! module's name. A path lands on its longest prefix that is a module file (`a/b.rs` or
//! `a/b/mod.rs`); `lib.rs` is the root and not a node. Not counted: `pub use` re-exports (a
//! module's public face, not a use of what it re-exports), `mod` declarations, comments,
//! string literals, `#[cfg(test)] mod tests {` and everything after it, and `tests.rs` files
//! or `tests/` folders. This is a stricter graph than `shared/hooks/modcycles.py`, which
//! follows `crate::` paths only: sibling files that import each other through `super::` form
//! a cycle here too.
//!
//! Reading a failure: each cycle lists its files, then one chain of imports around it, each
//! step with the path that makes the edge. Find the step that points up (a lower layer naming
//! an upper one) and move the shared item down, or pass it in, so every edge points one way.
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;

/// Files, relative to `src`, allowed to contain `impl Stack` or `impl Trait for Stack`.
const STACK_IMPL_FILES: &[&str] = &["stack.rs"];

/// Source text by `/`-separated path relative to `src`: `"tcp/host.rs" -> "..."`.
type Files = BTreeMap<String, String>;

/// file -> imported file -> first path seen that makes the edge (`crate::tcp::host::TcpHost`).
type Edges = BTreeMap<String, BTreeMap<String, String>>;

/// A path as its segments: `crate::tcp::host` -> `["crate", "tcp", "host"]`.
type Segs<'a> = Vec<&'a str>;

fn ident_byte(c: &u8) -> bool {
    c.is_ascii_alphanumeric() || *c == b'_' || *c >= 0x80
}

fn is_ident(t: &str) -> bool {
    t.bytes().all(|c| ident_byte(&c))
}

/// Module path of a file (`tcp/mod.rs` -> `["tcp"]`), or `None` for `lib.rs` and test files.
fn module_of(file: &str) -> Option<Vec<&str>> {
    let mut parts: Vec<&str> = file.strip_suffix(".rs")?.split('/').collect();
    if parts.contains(&"tests") || parts == ["lib"] {
        return None;
    }
    if parts.last() == Some(&"mod") {
        parts.pop();
    }
    Some(parts)
}

/// Tokens of code: identifiers, `::`, literals and single punctuation characters; no comments
/// (`/* */` taken as not nested) and nothing from `#[cfg(test)] mod tests {` on.
fn tokens(src: &str) -> Vec<&str> {
    let (b, mut out, mut i) = (src.as_bytes(), Vec::new(), 0);
    let past =
        |from: usize, pat: &str| from + src[from..].find(pat).map_or(b.len(), |n| n + pat.len());
    while i < b.len() {
        let (rest, start) = (&b[i..], i);
        let next = src.get(i + 1..).and_then(|s| s.chars().next());
        let next_len = next.map_or(1, char::len_utf8);
        let is_char = next == Some('\\') || rest.get(1 + next_len) == Some(&b'\''); // else 'a
        i = match rest[0] {
            c if c.is_ascii_whitespace() => i + 1,
            _ if rest.starts_with(b"//") => past(i, "\n"),
            _ if rest.starts_with(b"/*") => past(i + 2, "*/"),
            b'"' => {
                let mut j = i + 1;
                while j < b.len() && b[j] != b'"' {
                    j += if b[j] == b'\\' { 2 } else { 1 };
                }
                j + 1
            }
            b'\'' if is_char => past(i + 1 + next_len, "'"),
            _ if rest.starts_with(b"::") => i + 2,
            c if ident_byte(&c) => i + rest.iter().take_while(|c| ident_byte(c)).count(),
            _ => i + 1,
        };
        if !rest[0].is_ascii_whitespace() && !rest.starts_with(b"//") && !rest.starts_with(b"/*") {
            out.push(&src[start..i.min(b.len())]);
        }
    }
    const TEST_MOD: [&str; 10] = ["#", "[", "cfg", "(", "test", ")", "]", "mod", "tests", "{"];
    if let Some(cut) = out.windows(TEST_MOD.len()).position(|w| w == TEST_MOD) {
        out.truncate(cut);
    }
    out
}

/// Expands one use tree (`a::{b, c::{self, d as e}}`) at `toks[*i]` into full paths.
fn use_tree<'a>(toks: &[&'a str], i: &mut usize, mut path: Segs<'a>, out: &mut Vec<Segs<'a>>) {
    loop {
        match toks.get(*i).copied() {
            Some("{") => {
                *i += 1;
                while let Some(&t) = toks.get(*i) {
                    match t {
                        "}" => break,
                        "," => *i += 1,
                        _ => use_tree(toks, i, path.clone(), out),
                    }
                }
                *i += 1;
                return;
            }
            None | Some("," | "}") => break,
            Some("as") => {
                *i += 2;
                break;
            }
            Some("::" | "*" | "self") => *i += 1,
            Some(name) => {
                path.push(name);
                *i += 1;
            }
        }
    }
    out.push(path);
}

/// Every path a file names, from private `use` trees and inline `crate::`, `super::` and
/// `self::` paths, as written (`["super", "timer", "Timer"]`).
fn paths(src: &str) -> Vec<Segs<'_>> {
    let (toks, mut out, mut i) = (tokens(src), Vec::new(), 0);
    while i < toks.len() {
        if toks[i] == "use" {
            let end = i + toks[i..]
                .iter()
                .position(|t| *t == ";")
                .unwrap_or(toks.len() - i);
            // `pub use` and `pub(crate) use` re-export: they are no use of the item.
            let public = toks[..i].last() == Some(&"pub")
                || (toks[..i].last() == Some(&")")
                    && toks[..i].iter().rev().nth(3) == Some(&"pub"));
            if !public {
                use_tree(&toks[i + 1..end], &mut 0, Vec::new(), &mut out);
            }
            i = end;
        } else if matches!(toks[i], "crate" | "super" | "self")
            && toks.get(i + 1) == Some(&"::")
            && (i == 0 || toks[i - 1] != "::")
        {
            let mut path = vec![toks[i]];
            while toks.get(i + 1) == Some(&"::") && toks.get(i + 2).is_some_and(|t| is_ident(t)) {
                path.push(toks[i + 2]);
                i += 2;
            }
            out.push(path);
        }
        i += 1;
    }
    out
}

/// `path` as written in the module `here`, made absolute (without `crate`). A path that
/// starts with any other name is taken as relative to `here` (a child module); paths into
/// other crates (`std::`, `log::`) then match no module file and make no edge.
fn absolute(here: &[&str], path: &[&str]) -> Vec<String> {
    let owned = |p: &[&str]| p.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    match path.first().copied() {
        Some("crate") => owned(&path[1..]),
        Some("super") => {
            let ups = path.iter().take_while(|p| **p == "super").count();
            let base = &here[..here.len().saturating_sub(ups)];
            owned(&[base, &path[ups..]].concat())
        }
        Some("self") => owned(&[here, &path[1..]].concat()),
        _ => owned(&[here, path].concat()),
    }
}

/// The module graph: for each module file, the module files it imports.
fn module_graph(files: &Files) -> Edges {
    let mut mods = BTreeMap::new();
    for f in files.keys() {
        if let Some(m) = module_of(f) {
            let m: Vec<String> = m.iter().map(|s| s.to_string()).collect();
            mods.insert(m, f);
        }
    }
    let mut edges = Edges::new();
    for (here, &file) in &mods {
        let here: Vec<&str> = here.iter().map(String::as_str).collect();
        let node = edges.entry(file.clone()).or_default();
        for path in paths(&files[file]) {
            let abs = absolute(&here, &path);
            let target = (1..=abs.len()).rev().find_map(|k| mods.get(&abs[..k]));
            if let Some(&to) = target.filter(|&&to| to != file) {
                node.entry(to.clone()).or_insert_with(|| path.join("::"));
            }
        }
    }
    edges
}

/// Breadth-first from `from`: each file reached -> the file it was first reached from.
fn bfs<'a>(edges: &'a Edges, from: &'a String) -> BTreeMap<&'a String, &'a String> {
    let (mut parent, mut queue) = (BTreeMap::from([(from, from)]), VecDeque::from([from]));
    while let Some(f) = queue.pop_front() {
        for to in edges[f].keys() {
            parent.entry(to).or_insert_with(|| {
                queue.push_back(to);
                f
            });
        }
    }
    parent
}

/// Strongly connected components of more than one file.
fn cycles(edges: &Edges) -> Vec<BTreeSet<&String>> {
    let reach: BTreeMap<&String, _> = edges.keys().map(|f| (f, bfs(edges, f))).collect();
    let mut out = Vec::new();
    for (f, fwd) in &reach {
        let back = |g: &&&String| reach[*g].contains_key(f);
        let scc: BTreeSet<&String> = fwd.keys().filter(back).copied().collect();
        if scc.len() > 1 && !out.contains(&scc) {
            out.push(scc);
        }
    }
    out
}

/// A shortest chain of imports from the first file of `scc` to one that imports it, and back.
fn chain(edges: &Edges, scc: &BTreeSet<&String>) -> String {
    let start = *scc.first().expect("non-empty component");
    let imports_start = |f: &&&String| edges[**f].contains_key(start);
    let last = *scc
        .iter()
        .find(imports_start)
        .expect("a file imports start");
    let (parent, mut at) = (bfs(edges, start), last);
    let mut steps = vec![format!("{start}   via {}", edges[last][start])];
    while at != start {
        steps.push(format!("{at}   via {}", edges[parent[at]][at]));
        at = parent[at];
    }
    steps.push(start.clone());
    steps.reverse();
    steps.join("\n    -> ")
}

/// `Err` with a readable report when the module graph has a cycle.
fn check_cycles(files: &Files) -> Result<(), String> {
    let edges = module_graph(files);
    let found = cycles(&edges);
    if found.is_empty() {
        return Ok(());
    }
    let mut msg = format!(
        "{} module import cycle(s) in stack/src. Data flows down on receive and down once on \
         transmit: a lower layer must not import an upper one. Move the shared item down (or \
         pass it in) so that every edge points one way.\n",
        found.len()
    );
    for scc in &found {
        let names: Vec<&str> = scc.iter().map(|f| f.as_str()).collect();
        let (n, chain) = (scc.len(), chain(&edges, scc));
        msg += &format!("\ncycle of {n}: {}\n  e.g. {chain}\n", names.join(", "));
    }
    Err(msg)
}

/// The type an `impl` header (the tokens after `impl`) is for: `<T> Tr for a::Stack {` -> `Stack`.
fn impl_target<'a>(toks: &[&'a str]) -> Option<&'a str> {
    let (mut depth, mut ty) = (0, 0);
    let header = |(_, t): &(usize, &&str)| !matches!(**t, "{" | ";" | "where");
    for (i, &t) in toks.iter().enumerate().take_while(header) {
        match t {
            "<" => depth += 1,
            ">" if i > 0 && toks[i - 1] != "-" => depth -= 1,
            "for" if depth == 0 => ty = i + 1,
            _ if depth == 0 && ty == 0 && toks[0] == "<" => ty = i, // impl<..> Ty
            _ => {}
        }
    }
    let path = toks[ty..]
        .iter()
        .skip_while(|t| matches!(**t, "&" | "mut" | "dyn"));
    let names = path.take_while(|t| **t == "::" || is_ident(t)).step_by(2);
    names.last().copied()
}

/// `Err` listing the files outside `allowed` that contain `impl Stack` / `impl Tr for Stack`.
fn check_stack_impls(files: &Files, allowed: &[&str]) -> Result<(), String> {
    let mut bad = Vec::new();
    let checked = |(f, _): &(&String, &String)| *f == "lib.rs" || module_of(f).is_some();
    for (file, src) in files.iter().filter(checked) {
        let toks = tokens(src);
        let is_stack = |i: usize| toks[i] == "impl" && impl_target(&toks[i + 1..]) == Some("Stack");
        let count = (0..toks.len()).filter(|&i| is_stack(i)).count();
        if count > 0 && !allowed.contains(&file.as_str()) {
            bad.push(format!("  {file} ({count} impl block(s))"));
        }
    }
    if bad.is_empty() {
        return Ok(());
    }
    Err(format!(
        "`impl Stack` outside {allowed:?} (STACK_IMPL_FILES in this test):\n{}\nStack's methods \
         live in the top layer and call down; a lower layer must not import an upper one, and \
         adding `impl Stack` to it is how it reaches back up.",
        bad.join("\n")
    ))
}

/// Every `.rs` file under `src`, keyed by its `/`-separated path relative to `src`.
fn real_tree() -> Files {
    let src = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src"));
    let (mut files, mut dirs) = (Files::new(), vec![src.to_path_buf()]);
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).expect("read a src folder") {
            let path = entry.expect("read a src folder entry").path();
            let rel = path.strip_prefix(src).expect("under src").to_string_lossy();
            if path.is_dir() {
                dirs.push(path.clone());
            } else if rel.ends_with(".rs") {
                let text = std::fs::read_to_string(&path).expect("read a source file");
                files.insert(rel.replace('\\', "/"), text);
            }
        }
    }
    files
}

#[test]
fn no_module_import_cycles() {
    check_cycles(&real_tree()).unwrap_or_else(|msg| panic!("{msg}"));
}

#[test]
fn impl_stack_only_in_top_layer() {
    check_stack_impls(&real_tree(), STACK_IMPL_FILES).unwrap_or_else(|msg| panic!("{msg}"));
}

// The checker itself, on synthetic trees.

fn tree(files: &[(&str, &str)]) -> Files {
    files.iter().map(|&(f, s)| (f.into(), s.into())).collect()
}

fn imports(files: &[(&str, &str)], file: &str) -> Vec<String> {
    module_graph(&tree(files))[file].keys().cloned().collect()
}

#[test]
fn checker_finds_a_cycle() {
    let files = [
        ("lib.rs", "mod a; mod b; use crate::a::A;"),
        ("a.rs", "use crate::b::B;\npub struct A;"),
        ("b/mod.rs", "pub struct B; fn f() -> crate::a::A {}"),
    ];
    let msg = check_cycles(&tree(&files)).expect_err("a -> b -> a is a cycle");
    let chain = "a.rs\n    -> b/mod.rs   via crate::b::B\n    -> a.rs   via crate::a::A";
    assert!(msg.contains("cycle of 2: a.rs, b/mod.rs\n  e.g. "), "{msg}");
    assert!(msg.contains(chain), "{msg}");
    assert!(
        msg.contains("a lower layer must not import an upper one"),
        "{msg}"
    );
}

#[test]
fn checker_passes_downward_imports() {
    let files = [
        ("lib.rs", "use crate::top::Top;"),
        ("top.rs", "use crate::{mid::Mid, low::Low};"),
        ("mid.rs", "use std::fmt; fn f() { super::low::g() }"),
        ("low.rs", "pub fn g() {}"),
    ];
    assert_eq!(check_cycles(&tree(&files)), Ok(()));
    assert_eq!(imports(&files, "mid.rs"), ["low.rs"]);
}

#[test]
fn checker_parses_nested_use() {
    let files = [
        ("top.rs", "use crate::{x::{Y, z::{self, W as V}}};"),
        ("x/mod.rs", "pub struct Y;"),
        ("x/z.rs", "pub struct W;"),
    ];
    assert_eq!(imports(&files, "top.rs"), ["x/mod.rs", "x/z.rs"]);
}

#[test]
fn checker_ignores_test_modules_and_files() {
    let a = "pub fn f() {}\n#[cfg(test)]\nmod tests {\n    use crate::b::g;\n}\n";
    let files = [
        ("a.rs", a),
        ("b.rs", "use crate::a::f;\npub fn g() {}"),
        ("b/tests.rs", "use crate::a::f;"),
    ];
    assert_eq!(check_cycles(&tree(&files)), Ok(()));
    assert!(imports(&files, "a.rs").is_empty());
}

#[test]
fn checker_ignores_comments_and_strings() {
    let a = "//! [`crate::b`]\n/// crate::b::X\n// crate::b\n/* crate::b */\n\
             const S: &str = \"crate::b\"; const C: char = '\"'; fn f<'a>() {}";
    let files = [("a.rs", a), ("b.rs", "use crate::a::f;")];
    assert!(imports(&files, "a.rs").is_empty());
}

#[test]
fn checker_limits_impl_stack() {
    let api = "impl crate::stack::Stack { fn f() -> impl Iterator<Item = u8> {} }";
    let udp = "impl Udp { fn f(s: &mut Stack) -> impl Fn() -> Stack {} }\n// impl Stack";
    let files = [
        ("stack.rs", "pub struct Stack;\nimpl Stack {}"),
        ("api.rs", api),
        (
            "ip.rs",
            "impl<T: Into<u8>> From<T> for Stack {}\nimpl Stack {}",
        ),
        ("udp.rs", udp),
    ];
    let allowed = ["stack.rs", "api.rs"];
    let msg = check_stack_impls(&tree(&files), &allowed).expect_err("ip.rs adds to Stack");
    assert!(msg.contains("  ip.rs (2 impl block(s))"), "{msg}");
    assert!(
        !msg.contains("udp.rs") && !msg.contains("api.rs ("),
        "{msg}"
    );
}

#[test]
fn checker_follows_super_self_and_child_paths() {
    let files = [
        ("t/mod.rs", "mod a; mod b; use self::a::A; pub use b::B;"),
        ("t/a.rs", "pub struct A; fn f() -> super::b::B {}"),
        (
            "t/b.rs",
            "use super::super::top::Top; use super::a::A; pub struct B;",
        ),
        ("top.rs", "pub struct Top;"),
    ];
    assert_eq!(
        imports(&files, "t/mod.rs"),
        ["t/a.rs"],
        "pub use is no edge"
    );
    assert_eq!(imports(&files, "t/b.rs"), ["t/a.rs", "top.rs"]);
    let msg = check_cycles(&tree(&files)).expect_err("a and b import each other");
    assert!(msg.contains("cycle of 2: t/a.rs, t/b.rs"), "{msg}");
    assert!(msg.contains("via super::b::B"), "{msg}");
}
