"""Drivers for function-level tests in C++, Java, JavaScript and Rust: generated code, compiled
with the candidate, that reads one call's arguments from stdin, calls the entry point and writes
its result to stdout in the token format of ``codemend.sandbox.runtime.values``.

Why a candidate cannot forge its verdict this way: the driver only *prints* the result; the
comparison happens in the supervisor, outside the candidate's process, against an expected value
that never enters that process (it is neither in the driver's source nor on its stdin). Whatever
the candidate does inside its process (exit early, print a forged result, write to every fd,
redefine the driver's helpers through macros) can change what is printed, never what it is
compared with: a "pass" needs the printed value to decode, by the declared return type, to the
expected value, which is what solving the call means. The function's own prints go to stderr
(the driver keeps stdout for itself before calling it), so a debugging print is not a wrong
answer. C has no standard containers and is left to stdin/stdout tests.
"""

from __future__ import annotations

import json

from codemend.problems.signature import Signature, element

JAVA_CLASS = "Solution"
"""Java: the class whose static method the driver calls."""
JAVA_DRIVER = "CodemendDriver"


def _cpp_type(kind: str) -> str:
    inner = element(kind)
    if inner is not None:
        return f"std::vector<{_cpp_type(inner)}>"
    return {"int": "long long", "float": "double", "bool": "bool", "str": "std::string"}[kind]


def _java_type(kind: str, boxed: bool = False, package: str = "") -> str:
    inner = element(kind)
    if inner is not None:
        return f"{package}ArrayList<{_java_type(inner, boxed=True, package=package)}>"
    plain = {"int": "long", "float": "double", "bool": "boolean", "str": "String"}[kind]
    return {"long": "Long", "double": "Double", "boolean": "Boolean"}.get(plain, plain) if boxed else plain


def _rust_type(kind: str) -> str:
    inner = element(kind)
    if inner is not None:
        return f"Vec<{_rust_type(inner)}>"
    return {"int": "i64", "float": "f64", "bool": "bool", "str": "String"}[kind]


def declaration(lang: str, name: str, sig: Signature) -> str:
    """The entry point's declaration in ``lang``, as the prompt asks for it."""
    if lang == "cpp":
        params = ", ".join(f"{_cpp_type(k)} {p}" for p, k in sig.params)
        return f"{_cpp_type(sig.returns)} {name}({params})"
    if lang == "java":
        params = ", ".join(f"{_java_type(k)} {p}" for p, k in sig.params)
        return f"class {JAVA_CLASS} {{\n    public static {_java_type(sig.returns)} {name}({params})\n}}"
    if lang == "rust":
        params = ", ".join(f"{p}: {_rust_type(k)}" for p, k in sig.params)
        return f"fn {name}({params}) -> {_rust_type(sig.returns)}"
    if lang == "javascript":
        return f"function {name}({', '.join(p for p, _ in sig.params)})"
    raise ValueError(f"no driver for {lang}")


def _java_reader(kind: str) -> str:
    inner = element(kind)
    if inner is not None:
        return f"readList(() -> {_java_reader(inner)})"
    return {"int": "readLong()", "float": "readDouble()", "bool": "readBool()", "str": "readStr()"}[kind]


_CPP = r"""
// ---- codemend driver: reads the call's arguments, calls the function, prints its result ----
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>
#include <unistd.h>
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
namespace codemend_driver {
static std::string in, out;
static size_t at = 0;
static std::string token() {
    while (at < in.size() && std::isspace((unsigned char)in[at])) ++at;
    size_t start = at;
    while (at < in.size() && !std::isspace((unsigned char)in[at])) ++at;
    return in.substr(start, at - start);
}
static void get(long long& v) { v = std::strtoll(token().c_str(), nullptr, 10); }
static void get(double& v) { v = std::strtod(token().c_str(), nullptr); }
static void get(bool& v) { v = token() == "1"; }
static void get(std::string& v) {
    size_t n = std::strtoull(token().c_str(), nullptr, 10);
    v = in.substr(at + 1, n);
    at += 1 + n;
}
template <class T> static void get(std::vector<T>& v) {
    v.resize(std::strtoull(token().c_str(), nullptr, 10));
    for (size_t i = 0; i < v.size(); ++i) { T x; get(x); v[i] = x; }
}
static void put(long long v) { out += std::to_string(v) + " "; }
static void put(long v) { put((long long)v); }
static void put(int v) { put((long long)v); }
static void put(unsigned v) { put((long long)v); }
static void put(unsigned long v) { out += std::to_string(v) + " "; }
static void put(unsigned long long v) { out += std::to_string(v) + " "; }
static void put(double v) { char b[64]; std::snprintf(b, sizeof b, "%.17g", v); out += b; out += ' '; }
static void put(float v) { put((double)v); }
static void put(bool v) { out += v ? "1 " : "0 "; }
static void put(const std::string& v) { out += std::to_string(v.size()) + " " + v + " "; }
static void put(const char* v) { put(std::string(v)); }
static void put(const std::vector<bool>& v) { put((long long)v.size()); for (bool x : v) put(x); }
template <class T> static void put(const std::vector<T>& v) {
    put((long long)v.size());
    for (const T& x : v) put(x);
}
}
#pragma GCC diagnostic pop
int main() {
    int result = dup(1);  // the driver's own stdout; the function's prints go to stderr
    dup2(2, 1);
    char buf[65536];
    for (ssize_t n; (n = ::read(0, buf, sizeof buf)) > 0;) codemend_driver::in.append(buf, n);
@@reads@@
    codemend_driver::put(@@name@@(@@args@@));
    codemend_driver::out += "\n";
    const std::string& text = codemend_driver::out;
    for (size_t done = 0; done < text.size();) {
        ssize_t n = ::write(result, text.data() + done, text.size() - done);
        if (n <= 0) return 1;
        done += n;
    }
    std::_Exit(0);
}
"""

_JAVA = r"""
// ---- codemend driver: reads the call's arguments, calls the function, prints its result ----
final class @@driver@@ {
    private static byte[] in;
    private static int at;
    private static String token() {
        while (at < in.length && Character.isWhitespace(in[at])) at++;
        int start = at;
        while (at < in.length && !Character.isWhitespace(in[at])) at++;
        return new String(in, start, at - start, java.nio.charset.StandardCharsets.US_ASCII);
    }
    static long readLong() { return Long.parseLong(token()); }
    static double readDouble() { return Double.parseDouble(token().replace("inf", "Infinity")); }
    static boolean readBool() { return token().equals("1"); }
    static String readStr() {
        int n = Integer.parseInt(token());
        String s = new String(in, at + 1, n, java.nio.charset.StandardCharsets.UTF_8);
        at += 1 + n;
        return s;
    }
    static <T> java.util.ArrayList<T> readList(java.util.function.Supplier<T> element) {
        int n = Integer.parseInt(token());
        java.util.ArrayList<T> list = new java.util.ArrayList<>(n);
        for (int i = 0; i < n; i++) list.add(element.get());
        return list;
    }
    static void put(StringBuilder out, Object v) {
        if (v instanceof Long || v instanceof Integer || v instanceof Short || v instanceof Byte) {
            out.append(((Number) v).longValue()).append(' ');
        } else if (v instanceof Double || v instanceof Float) {
            out.append(Double.toString(((Number) v).doubleValue())).append(' ');
        } else if (v instanceof Boolean) {
            out.append((Boolean) v ? "1 " : "0 ");
        } else if (v instanceof String) {
            String s = (String) v;
            int size = s.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
            out.append(size).append(' ').append(s).append(' ');
        } else if (v instanceof java.util.List) {
            java.util.List<?> list = (java.util.List<?>) v;
            out.append(list.size()).append(' ');
            for (Object x : list) put(out, x);
        } else {
            out.append("<not a value: ").append(v == null ? "null" : v.getClass().getName()).append("> ");
        }
    }
    public static void main(String[] args) throws Exception {
        java.io.PrintStream result = new java.io.PrintStream(
            new java.io.FileOutputStream(java.io.FileDescriptor.out), false, "UTF-8");
        System.setOut(System.err);  // the function's prints go to stderr
        in = System.in.readAllBytes();
@@reads@@
        Object value = @@klass@@.@@name@@(@@args@@);
        StringBuilder out = new StringBuilder();
        put(out, value);
        result.print(out.append('\n'));
        result.flush();
        Runtime.getRuntime().halt(0);
    }
}
"""

_RUST = r"""
// ---- codemend driver: reads the call's arguments, calls the function, prints its result ----
#[allow(dead_code)]
mod codemend_driver {
    pub struct In { pub data: Vec<u8>, pub at: usize }
    impl In {
        pub fn token(&mut self) -> String {
            while self.at < self.data.len() && self.data[self.at].is_ascii_whitespace() { self.at += 1; }
            let start = self.at;
            while self.at < self.data.len() && !self.data[self.at].is_ascii_whitespace() { self.at += 1; }
            String::from_utf8_lossy(&self.data[start..self.at]).into_owned()
        }
    }
    pub trait Get: Sized { fn get(i: &mut In) -> Self; }
    impl Get for i64 { fn get(i: &mut In) -> Self { i.token().parse().unwrap_or(0) } }
    impl Get for f64 { fn get(i: &mut In) -> Self { i.token().parse().unwrap_or(0.0) } }
    impl Get for bool { fn get(i: &mut In) -> Self { i.token() == "1" } }
    impl Get for String {
        fn get(i: &mut In) -> Self {
            let n: usize = i.token().parse().unwrap_or(0);
            let end = (i.at + 1 + n).min(i.data.len());
            let s = String::from_utf8_lossy(&i.data[(i.at + 1).min(end)..end]).into_owned();
            i.at = end;
            s
        }
    }
    impl<T: Get> Get for Vec<T> {
        fn get(i: &mut In) -> Self {
            let n: usize = i.token().parse().unwrap_or(0);
            (0..n).map(|_| T::get(i)).collect()
        }
    }
    pub trait Put { fn put(&self, o: &mut String); }
    macro_rules! ints {
        ($($t:ty),*) => {
            $(impl Put for $t { fn put(&self, o: &mut String) { o.push_str(&format!("{} ", self)); } })*
        }
    }
    ints!(i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize);
    impl Put for f64 { fn put(&self, o: &mut String) { o.push_str(&format!("{:?} ", self)); } }
    impl Put for f32 { fn put(&self, o: &mut String) { (*self as f64).put(o) } }
    impl Put for bool { fn put(&self, o: &mut String) { o.push_str(if *self { "1 " } else { "0 " }); } }
    impl Put for String { fn put(&self, o: &mut String) { self.as_str().put(o) } }
    impl Put for &str { fn put(&self, o: &mut String) { o.push_str(&format!("{} {} ", self.len(), self)); } }
    impl<T: Put> Put for Vec<T> {
        fn put(&self, o: &mut String) { self.len().put(o); for x in self { x.put(o); } }
    }
}

fn main() {
    extern "C" {
        fn dup(fd: i32) -> i32;
        fn dup2(from: i32, to: i32) -> i32;
    }
    // the driver's own stdout; the function's prints go to stderr
    let result = unsafe { dup(1) };
    unsafe { dup2(2, 1); }
    let mut data = Vec::new();
    std::io::Read::read_to_end(&mut std::io::stdin(), &mut data).unwrap_or(0);
    let mut input = codemend_driver::In { data, at: 0 };
@@reads@@
    let value = @@name@@(@@args@@);
    let mut out = String::new();
    codemend_driver::Put::put(&value, &mut out);
    out.push('\n');
    let mut file = unsafe { <std::fs::File as std::os::unix::io::FromRawFd>::from_raw_fd(result) };
    let _ = std::io::Write::write_all(&mut file, out.as_bytes());
    std::process::exit(0);
}
"""

_JS_HEAD = (
    "const __codemend_fs = process.getBuiltinModule ? process.getBuiltinModule('fs') : require('fs'); "
    "console.log = console.info = console.debug = console.error; "
)
_JS = r"""
// ---- codemend driver: reads the call's arguments, calls the function, prints its result ----
{
    const data = __codemend_fs.readFileSync(0);
    let at = 0;
    const token = () => {
        while (at < data.length && /\s/.test(String.fromCharCode(data[at]))) at++;
        const start = at;
        while (at < data.length && !/\s/.test(String.fromCharCode(data[at]))) at++;
        return data.subarray(start, at).toString("latin1");
    };
    const get = (kind) => {
        if (kind.startsWith("list[")) {
            const n = Number(token());
            return Array.from({ length: n }, () => get(kind.slice(5, -1)));
        }
        if (kind === "int" || kind === "float") return Number(token().replace("inf", "Infinity"));
        if (kind === "bool") return token() === "1";
        const n = Number(token());
        const s = data.subarray(at + 1, at + 1 + n).toString("utf8");
        at += 1 + n;
        return s;
    };
    const put = (kind, v) => {
        if (kind.startsWith("list[")) {
            if (!Array.isArray(v)) return "<not a list> ";
            return v.length + " " + v.map((x) => put(kind.slice(5, -1), x)).join("");
        }
        if (kind === "bool") return typeof v === "boolean" ? (v ? "1 " : "0 ") : "<not a bool> ";
        if (kind === "str") {
            return typeof v === "string" ? Buffer.byteLength(v) + " " + v + " " : "<not a str> ";
        }
        return typeof v === "number" || typeof v === "bigint" ? String(v) + " " : "<not a number> ";
    };
    const kinds = @@kinds@@;
    const args = kinds.map(get);
    const value = @@name@@(...args);
    __codemend_fs.writeSync(1, put(@@returns@@, value) + "\n");
    process.exit(0);
}
"""


def _fill(template: str, **values: str) -> str:
    for key, value in values.items():
        template = template.replace(f"@@{key}@@", value)
    return template


def wrap(lang: str, code: str, name: str, sig: Signature) -> tuple[str, str | None]:
    """The candidate's code with the driver of ``lang`` around it, and the class Java runs (None
    elsewhere). The driver follows the code, so the code's line numbers are its own."""
    names = [f"a{i}" for i in range(len(sig.params))]
    if lang == "cpp":
        reads = "\n".join(
            f"    {_cpp_type(k)} {v}; codemend_driver::get({v});"
            for v, (_, k) in zip(names, sig.params, strict=True)
        )
        return code + _fill(_CPP, reads=reads, name=name, args=", ".join(names)), None
    if lang == "java":
        reads = "\n".join(
            f"        {_java_type(k, package='java.util.')} {v} = {_java_reader(k)};"
            for v, (_, k) in zip(names, sig.params, strict=True)
        )
        tail = _fill(
            _JAVA, reads=reads, name=name, args=", ".join(names), driver=JAVA_DRIVER, klass=JAVA_CLASS
        )
        return code + tail, JAVA_DRIVER
    if lang == "rust":
        reads = "\n".join(
            f"    let {v}: {_rust_type(k)} = codemend_driver::Get::get(&mut input);"
            for v, (_, k) in zip(names, sig.params, strict=True)
        )
        return code + _fill(_RUST, reads=reads, name=name, args=", ".join(names)), None
    if lang == "javascript":
        kinds = json.dumps([k for _, k in sig.params])
        tail = _fill(_JS, kinds=kinds, name=name, returns=json.dumps(sig.returns))
        return _JS_HEAD + code + tail, None
    raise ValueError(f"no driver for {lang}")
