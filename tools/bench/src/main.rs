//! `cargo run --release -p istio-preflight-bench`: how far `check` is from the floor of
//! merely parsing the same files with the same YAML parser, how it grows with the number of
//! objects, how many cores it keeps busy and how much memory it needs per input byte.
//!
//! Every measurement runs in a fresh child process (this binary, re-executed), so the peak
//! memory it reports (`VmHWM`) belongs to that measurement alone and no run warms the caches
//! of the next one's allocator. Times are the median of `--runs` runs; peaks the largest.
//!
//! Two memory figures: the peak resident set (`VmHWM`, what `time -v` shows), which includes
//! the pages of the binary's code and the C library a run touches (about 11 MiB, whatever the
//! input), and the peak of the bytes the run allocates, counted by one further child whose
//! allocator keeps a tally (a shared counter on every allocation would slow the timed runs).
//!
//! `--mimalloc` also runs every check child with mimalloc instead of the CLI's allocator
//! (the whole child process uses one or the other) and prints the ratios under each row.

use std::alloc::{GlobalAlloc, Layout};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicU8, Ordering};
use std::time::Instant;

use clap::Parser;
use rayon::prelude::*;

use estate as generate;
use istio_preflight::load::files;
use istio_preflight::{cli, emit, yaml};

/// The allocator the `istio-preflight` binary installs: its source, so the bench measures
/// what users run without the library exporting it.
#[path = "../../../src/alloc.rs"]
mod alloc;

// The allocator the CLI runs with, so both sides of the comparison measure what users get,
// with a tally of live bytes that only a `--heap` child turns on.
#[global_allocator]
static ALLOCATOR: Tally = Tally;

/// The environment variable that makes a child allocate with mimalloc.
const ALLOCATOR_ENV: &std::ffi::CStr = c"ISTIO_PREFLIGHT_BENCH_ALLOCATOR";
static CLI_ALLOCATOR: alloc::Allocator = alloc::Allocator;
static MIMALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;
/// 0 until the first allocation decides, then 1 (the CLI's allocator) or 2 (mimalloc).
static CHOICE: AtomicU8 = AtomicU8::new(0);

extern "C" {
    fn getenv(name: *const std::ffi::c_char) -> *const std::ffi::c_char;
}

/// The allocator of this whole process, decided by the first allocation (before any thread
/// starts) from the environment, read with the C library's `getenv`, which allocates nothing.
fn inner() -> &'static dyn GlobalAlloc {
    let mut choice = CHOICE.load(Ordering::Relaxed);
    if choice == 0 {
        // SAFETY: a NUL-terminated name; the value is read before anything could change it.
        let mi = unsafe {
            let v = getenv(ALLOCATOR_ENV.as_ptr());
            !v.is_null() && std::ffi::CStr::from_ptr(v).to_bytes() == b"mimalloc"
        };
        choice = if mi { 2 } else { 1 };
        CHOICE.store(choice, Ordering::Relaxed);
    }
    if choice == 2 {
        &MIMALLOC
    } else {
        &CLI_ALLOCATOR
    }
}

static COUNTING: AtomicBool = AtomicBool::new(false);
// Signed: blocks allocated before the tally began may be freed after it did.
static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

struct Tally;

impl Tally {
    fn grew(by: usize) {
        let by = by as isize;
        let live = LIVE.fetch_add(by, Ordering::Relaxed) + by;
        PEAK.fetch_max(live, Ordering::Relaxed);
    }

    fn shrank(by: usize) {
        LIVE.fetch_sub(by as isize, Ordering::Relaxed);
    }
}

// SAFETY: every call goes to the CLI's allocator unchanged; the tally only reads sizes.
unsafe impl GlobalAlloc for Tally {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { inner().alloc(layout) };
        if !ptr.is_null() && COUNTING.load(Ordering::Relaxed) {
            Tally::grew(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { inner().alloc_zeroed(layout) };
        if !ptr.is_null() && COUNTING.load(Ordering::Relaxed) {
            Tally::grew(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { inner().dealloc(ptr, layout) };
        if COUNTING.load(Ordering::Relaxed) {
            Tally::shrank(layout.size());
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let moved = unsafe { inner().realloc(ptr, layout, new_size) };
        if !moved.is_null() && COUNTING.load(Ordering::Relaxed) {
            // The new size replaces the old: counting both blocks while a move copies would
            // overstate growth that glibc does in place.
            if new_size >= layout.size() {
                Tally::grew(new_size - layout.size());
            } else {
                Tally::shrank(layout.size() - new_size);
            }
        }
        moved
    }
}

#[derive(Parser, Debug)]
#[command(about = "Benchmarks istio-preflight check against the YAML-parsing floor")]
struct Args {
    /// Runs per measurement (the median time is reported).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Sizes of the generated estates, in objects.
    #[arg(long, value_delimiter = ',', default_value = "1000,10000,100000")]
    sizes: Vec<usize>,
    /// Seed of the generated estates.
    #[arg(long, default_value_t = 2026)]
    seed: u64,
    /// Corpus root holding `apps/` and `bulk/` (default: ../shared/corpus beside the repository).
    #[arg(long)]
    corpus: Option<PathBuf>,
    /// Measure only the generated estates, or only the corpus.
    #[arg(long, value_enum)]
    only: Option<Only>,
    /// Write the generated estates here and keep them (default: a temporary directory,
    /// removed afterwards).
    #[arg(long, value_name = "DIR")]
    keep_estates: Option<PathBuf>,
    /// Also run every check with mimalloc and print its time and memory against the CLI's
    /// allocator under each row.
    #[arg(long)]
    mimalloc: bool,
    /// Internal: run one measurement in this process and print it.
    #[arg(long, hide = true, value_enum)]
    child: Option<Mode>,
    /// Internal: the child also tallies the bytes it allocates (slower; not timed).
    #[arg(long, hide = true)]
    heap: bool,
    /// Internal: the inputs of a child measurement.
    #[arg(hide = true)]
    paths: Vec<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Only {
    Corpus,
    Generated,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Mode {
    /// Read and parse every file with `yaml::split_documents` + `yaml::parse_documents`, in
    /// parallel and in the same runs of documents as the loader, and keep the trees: the
    /// floor.
    Parse,
    /// `istio_preflight::check` end to end: discover, read, parse, build the inventory, run
    /// every rule, sort.
    Check,
    /// `check` and then the human report (the default output format).
    Human,
}

/// What one child measured.
#[derive(Clone, Copy, Debug, Default)]
struct Sample {
    wall_ms: f64,
    cpu_ms: f64,
    peak_kib: u64,
    objects: usize,
    /// Peak of the bytes allocated and not yet freed, when the child tallied them.
    heap_kib: u64,
}

fn main() {
    let args = Args::parse();
    if let Some(mode) = args.child {
        COUNTING.store(args.heap, Ordering::Relaxed);
        let s = measure(mode, &args.paths);
        println!(
            "{} {} {} {} {}",
            s.wall_ms, s.cpu_ms, s.peak_kib, s.objects, s.heap_kib
        );
        // Dropping a large inventory takes time that is not part of the measurement.
        std::process::exit(0);
    }
    if cfg!(debug_assertions) {
        eprintln!("warning: this is a debug build; run with `cargo run --release -p istio-preflight-bench` for meaningful numbers");
    }
    println!("{}", machine());
    let base_kib = baseline_kib();
    println!(
        "process baseline (check of an empty directory): {:.1} MiB resident; `RSS` columns are peak resident memory, `heap` check's peak of allocated bytes",
        base_kib as f64 / 1024.0
    );
    println!(
        "{:<26} {:>8} {:>6} {:>8} | {:>9} {:>9} {:>6} | {:>9} | {:>5} | {:>9} {:>9} {:>6} | {:>8} {:>6}",
        "input",
        "objects",
        "files",
        "MiB",
        "parse ms",
        "check ms",
        "ratio",
        "+human ms",
        "cores",
        "parse RSS",
        "check RSS",
        "×input",
        "heap MiB",
        "×input"
    );
    if args.only != Some(Only::Generated) {
        let root = args.corpus.clone().unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus")
        });
        let inputs = vec![root.join("apps"), root.join("bulk")];
        if inputs.iter().all(|p| p.is_dir()) {
            report("corpus apps+bulk", &inputs, args.runs, args.mimalloc);
        } else {
            println!(
                "corpus apps+bulk: skipped, {} has no apps/ and bulk/ (pass --corpus DIR)",
                root.display()
            );
        }
    }
    if args.only != Some(Only::Corpus) {
        let keep = args.keep_estates.is_some();
        let dir = args.keep_estates.clone().unwrap_or_else(|| {
            std::env::temp_dir().join(format!("istio-preflight-bench-{}", std::process::id()))
        });
        // (objects, input bytes, check's peak RSS and heap in KiB) of the previous estate.
        let mut previous: Option<(usize, Grown)> = None;
        for &n in &args.sizes {
            let estate = dir.join(format!("estate-{n}"));
            if let Err(e) = generate::write_estate(&estate, n, args.seed) {
                eprintln!(
                    "cannot write the generated estate to {}: {e}",
                    estate.display()
                );
                std::process::exit(2);
            }
            let measured = report(
                &format!("generated {n}"),
                std::slice::from_ref(&estate),
                args.runs,
                args.mimalloc,
            );
            if let (Some((m, before)), Some(after)) = (previous, measured) {
                // The fixed cost of a run cancels out: what each further input byte costs.
                let added = after.bytes.saturating_sub(before.bytes).max(1) as f64;
                let per_byte = |a: u64, b: u64| (b.saturating_sub(a) * 1024) as f64 / added;
                println!(
                    "{:<26} check's peak grew {:.2}× the added input bytes (heap {:.2}×)",
                    format!("  {m} -> {n}"),
                    per_byte(before.peak_kib, after.peak_kib),
                    per_byte(before.heap_kib, after.heap_kib),
                );
            }
            previous = measured.map(|g| (n, g));
            if !keep {
                let _ = std::fs::remove_dir_all(&estate);
            }
        }
        if !keep {
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
    println!("load average after: {}", load_average());
}

/// An input's size and what check's peaks were on it, in KiB.
#[derive(Clone, Copy)]
struct Grown {
    bytes: u64,
    peak_kib: u64,
    heap_kib: u64,
}

/// Measures the three modes on one input, interleaved so that a burst of load elsewhere on
/// the machine hits all three alike, then check's heap in one tallying child, and prints one
/// row. Gives the input bytes and check's peaks, unless a mode failed.
fn report(label: &str, inputs: &[PathBuf], runs: usize, mimalloc: bool) -> Option<Grown> {
    let (files, _) = files::discover(inputs);
    let bytes: u64 = files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();
    let mut samples: [Vec<Sample>; 4] = Default::default();
    for _ in 0..runs.max(1) {
        for (i, mode) in ["parse", "check", "human", "check"].iter().enumerate() {
            let mi = i == 3;
            if mi && !mimalloc {
                continue;
            }
            match child_with(mode, inputs, false, mi) {
                Ok(s) => samples[i].push(s),
                Err(e) => {
                    println!("{label}: {mode} failed: {e}");
                    return None;
                }
            }
        }
    }
    let [parse, check, human, mi_check] = samples.map(|s| summarize(&s));
    let heap = match child_with("check", inputs, true, false) {
        Ok(s) => s.heap_kib,
        Err(e) => {
            println!("{label}: check (tallying its heap) failed: {e}");
            return None;
        }
    };
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    println!(
        "{:<26} {:>8} {:>6} {:>8.1} | {:>9.0} {:>9.0} {:>6.2} | {:>9.0} | {:>5.2} | {:>9.0} {:>9.0} {:>6.2} | {:>8.1} {:>6.2}",
        label,
        check.objects,
        files.len(),
        mib(bytes),
        parse.wall_ms,
        check.wall_ms,
        check.wall_ms / parse.wall_ms,
        human.wall_ms,
        check.cpu_ms / check.wall_ms,
        parse.peak_kib as f64 / 1024.0,
        check.peak_kib as f64 / 1024.0,
        (check.peak_kib * 1024) as f64 / bytes.max(1) as f64,
        heap as f64 / 1024.0,
        (heap * 1024) as f64 / bytes.max(1) as f64,
    );
    if mimalloc {
        println!(
            "{:<26} check {:.0} ms ({:.2}× the CLI's allocator), {:.2} cores, check RSS {:.0} MiB ({:.2}×)",
            "  with mimalloc",
            mi_check.wall_ms,
            mi_check.wall_ms / check.wall_ms,
            mi_check.cpu_ms / mi_check.wall_ms,
            mi_check.peak_kib as f64 / 1024.0,
            mi_check.peak_kib as f64 / check.peak_kib.max(1) as f64,
        );
    }
    Some(Grown {
        bytes,
        peak_kib: check.peak_kib,
        heap_kib: heap,
    })
}

/// Peak memory of a `check` that reads nothing: the binary, the runtime, the thread pool and
/// the embedded release data, which every run pays whatever its input.
fn baseline_kib() -> u64 {
    let empty = std::env::temp_dir().join(format!(
        "istio-preflight-bench-empty-{}",
        std::process::id()
    ));
    let _ = std::fs::create_dir_all(&empty);
    let base = child("check", std::slice::from_ref(&empty)).map_or(0, |s| s.peak_kib);
    let _ = std::fs::remove_dir_all(&empty);
    base
}

/// Median time (and the CPU time of that run), largest peak.
fn summarize(samples: &[Sample]) -> Sample {
    if samples.is_empty() {
        return Sample::default();
    }
    let mut by_time = samples.to_vec();
    by_time.sort_by(|a, b| a.wall_ms.total_cmp(&b.wall_ms));
    let median = by_time[by_time.len() / 2];
    Sample {
        peak_kib: samples.iter().map(|s| s.peak_kib).max().unwrap_or(0),
        ..median
    }
}

fn child(mode: &str, inputs: &[PathBuf]) -> Result<Sample, String> {
    child_with(mode, inputs, false, false)
}

/// One child measurement; `heap` makes it tally its allocations, `mimalloc` makes the whole
/// child allocate with mimalloc.
fn child_with(
    mode: &str,
    inputs: &[PathBuf],
    heap: bool,
    mimalloc: bool,
) -> Result<Sample, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut command = Command::new(exe);
    let env = ALLOCATOR_ENV.to_str().expect("ASCII");
    if mimalloc {
        command.env(env, "mimalloc");
    } else {
        command.env_remove(env);
    }
    command.arg("--child").arg(mode);
    if heap {
        command.arg("--heap");
    }
    let out = command
        .arg("--")
        .args(inputs)
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "{}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let f: Vec<&str> = text.split_whitespace().collect();
    let parse_err = |what: &str| format!("bad child output {text:?} ({what})");
    if f.len() != 5 {
        return Err(parse_err("fields"));
    }
    Ok(Sample {
        wall_ms: f[0].parse().map_err(|_| parse_err("wall"))?,
        cpu_ms: f[1].parse().map_err(|_| parse_err("cpu"))?,
        peak_kib: f[2].parse().map_err(|_| parse_err("peak"))?,
        objects: f[3].parse().map_err(|_| parse_err("objects"))?,
        heap_kib: f[4].parse().map_err(|_| parse_err("heap"))?,
    })
}

fn measure(mode: Mode, paths: &[PathBuf]) -> Sample {
    let cpu_start = cpu_ms();
    let start = Instant::now();
    let objects = match mode {
        Mode::Parse => {
            let (files, _) = files::discover(paths);
            type Parsed = (
                yaml::Tree,
                Vec<Result<Option<yaml::NodeId>, yaml::YamlError>>,
            );
            let parsed: Vec<Vec<Parsed>> = files
                .par_iter()
                .map(|path| {
                    let Some(text) = std::fs::read(path)
                        .ok()
                        .and_then(|b| String::from_utf8(b).ok())
                    else {
                        return Vec::new();
                    };
                    let text = yaml::Text::new(text);
                    let docs = yaml::split_documents(&text);
                    files::runs(&docs)
                        .par_iter()
                        .map(|run| yaml::parse_documents(&text, run))
                        .collect()
                })
                .collect();
            let documents = parsed.iter().flatten().map(|(_, roots)| roots.len()).sum();
            std::mem::forget(parsed);
            documents
        }
        Mode::Check | Mode::Human => {
            let mut argv: Vec<std::ffi::OsString> = vec!["istio-preflight".into(), "check".into()];
            argv.extend(paths.iter().map(|p| p.clone().into_os_string()));
            argv.extend(["--target".into(), "1.29.1".into()]);
            let check_args = match cli::Cli::parse_from(argv).command {
                cli::Command::Check(a) => a,
                _ => unreachable!("built as a check command"),
            };
            let settings = check_args.settings().unwrap_or_else(|e| {
                eprintln!("check failed: {e}");
                std::process::exit(2)
            });
            let report = istio_preflight::check(&settings).unwrap_or_else(|e| {
                eprintln!("check failed: {e}");
                std::process::exit(2)
            });
            if mode == Mode::Human {
                let text = emit::render(&report, emit::Format::Human, false);
                std::hint::black_box(text.len());
            }
            let objects = report.inventory.objects.len();
            std::mem::forget(report);
            objects
        }
    };
    let wall_ms = start.elapsed().as_secs_f64() * 1000.0;
    Sample {
        wall_ms,
        cpu_ms: cpu_ms() - cpu_start,
        peak_kib: peak_kib(),
        objects,
        heap_kib: PEAK.load(Ordering::Relaxed).max(0) as u64 / 1024,
    }
}

/// User + system CPU time of this process so far (from /proc; clock ticks of 10 ms, the
/// Linux default), or 0 where /proc is missing.
fn cpu_ms() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // The command name (field 2) may hold spaces; fields after it are space-separated.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the command name.
    (ticks(11) + ticks(12)) * 10.0
}

/// Peak resident memory of this process (`VmHWM`), in KiB.
fn peak_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!(
        "machine: {cpu}, {cores} cores available, rayon threads {}; load average before: {}",
        rayon::current_num_threads(),
        load_average()
    )
}
