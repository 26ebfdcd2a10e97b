//! The committed kernel ELF files in `kernels/elf/` match `kernels/src/`.
//!
//! CI has no RISC-V cross compiler, so it checks that every source has a built ELF (and every
//! ELF a source) and that each ELF is a sane RV32 executable for the loader. When
//! `riscv64-unknown-elf-gcc` is on PATH, the kernels are rebuilt into a temporary directory
//! and must be byte-identical to the committed ones (if the installed compiler is the one
//! recorded in `kernels/elf/TOOLCHAIN`; another version legitimately emits other bytes).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

const CC: &str = "riscv64-unknown-elf-gcc";

fn kernels_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("kernels")
}

/// File stems in `dir` with extension `ext`, sorted.
fn stems(dir: &Path, ext: &str) -> std::io::Result<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().and_then(|e| e.to_str()) == Some(ext) {
            if let Some(stem) = path.file_stem().and_then(|s| s.to_str()) {
                out.insert(stem.to_owned());
            }
        }
    }
    Ok(out)
}

fn compiler_on_path() -> bool {
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(CC).is_file()))
        .unwrap_or(false)
}

fn u16_at(b: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(off..off + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(off..off + 4)?.try_into().ok()?))
}

/// Checks the ELF header and program headers of a kernel image; returns what is wrong.
fn check_elf(b: &[u8]) -> Result<(), String> {
    const EM_RISCV: u16 = 243;
    const ET_EXEC: u16 = 2;
    const PT_LOAD: u32 = 1;
    const PF_X: u32 = 1;
    const PF_W: u32 = 2;
    const KERNEL_MAX: u64 = 64 * 1024;
    let short = || format!("truncated ELF ({} bytes)", b.len());

    if b.get(0..4) != Some(b"\x7fELF".as_slice()) {
        return Err("no ELF magic".into());
    }
    if b.get(4) != Some(&1) {
        return Err("not ELFCLASS32".into());
    }
    if b.get(5) != Some(&1) {
        return Err("not little-endian".into());
    }
    let e_type = u16_at(b, 16).ok_or_else(short)?;
    if e_type != ET_EXEC {
        return Err(format!("e_type {e_type}, expected ET_EXEC (static link)"));
    }
    let machine = u16_at(b, 18).ok_or_else(short)?;
    if machine != EM_RISCV {
        return Err(format!("e_machine {machine}, expected EM_RISCV ({EM_RISCV})"));
    }
    let entry = u32_at(b, 24).ok_or_else(short)?;
    if u64::from(entry) >= KERNEL_MAX {
        return Err(format!("entry {entry:#x} not below 64 KiB: not linked at 0?"));
    }
    let phoff = u32_at(b, 28).ok_or_else(short)? as usize;
    let phentsize = usize::from(u16_at(b, 42).ok_or_else(short)?);
    let phnum = usize::from(u16_at(b, 44).ok_or_else(short)?);
    if phnum == 0 {
        return Err("no program headers".into());
    }
    if phentsize < 32 {
        return Err(format!("e_phentsize {phentsize} < 32"));
    }
    let (mut exec_loads, mut write_loads, mut entry_in_exec) = (0, 0, false);
    for i in 0..phnum {
        let ph = phoff + i * phentsize;
        let p_type = u32_at(b, ph).ok_or_else(short)?;
        if p_type != PT_LOAD {
            continue;
        }
        let offset = u64::from(u32_at(b, ph + 4).ok_or_else(short)?);
        let vaddr = u64::from(u32_at(b, ph + 8).ok_or_else(short)?);
        let filesz = u64::from(u32_at(b, ph + 16).ok_or_else(short)?);
        let memsz = u64::from(u32_at(b, ph + 20).ok_or_else(short)?);
        let flags = u32_at(b, ph + 24).ok_or_else(short)?;
        if filesz > memsz || offset + filesz > b.len() as u64 || vaddr + memsz > KERNEL_MAX {
            return Err(format!(
                "PT_LOAD {i} (offset {offset:#x} vaddr {vaddr:#x} filesz {filesz:#x} \
                 memsz {memsz:#x}) out of bounds"
            ));
        }
        if flags & PF_X != 0 {
            exec_loads += 1;
            entry_in_exec |= (vaddr..vaddr + memsz).contains(&u64::from(entry));
        }
        if flags & PF_W != 0 {
            write_loads += 1;
        }
    }
    if exec_loads != 1 || write_loads > 1 {
        return Err(format!(
            "{exec_loads} executable and {write_loads} writable PT_LOADs; expected 1 and at most 1"
        ));
    }
    if !entry_in_exec {
        return Err(format!("entry {entry:#x} outside the executable PT_LOAD"));
    }
    Ok(())
}

#[test]
fn committed_elfs_are_sane_and_complete() {
    let dir = kernels_dir();
    let sources = stems(&dir.join("src"), "c").unwrap();
    let elfs = stems(&dir.join("elf"), "elf").unwrap();
    assert!(!sources.is_empty(), "no kernel sources in {}", dir.join("src").display());
    assert_eq!(
        sources, elfs,
        "kernels/src/*.c and kernels/elf/*.elf differ: run kernels/build.sh and commit kernels/elf"
    );
    for name in &elfs {
        let path = dir.join("elf").join(format!("{name}.elf"));
        let bytes = std::fs::read(&path).unwrap();
        if let Err(why) = check_elf(&bytes) {
            panic!("{}: {why}", path.display());
        }
    }
}

#[test]
fn committed_elfs_match_sources_when_compiler_present() {
    if !compiler_on_path() {
        println!(
            "skipped: {CC} is not on PATH, so the committed kernels/elf/*.elf cannot be rebuilt \
             and compared (install gcc-riscv64-unknown-elf to enable this check)"
        );
        return;
    }
    let dir = kernels_dir();
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new("bash").arg(dir.join("build.sh")).arg(tmp.path()).output().unwrap();
    assert!(
        out.status.success(),
        "kernels/build.sh failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    let committed = stems(&dir.join("elf"), "elf").unwrap();
    let built = stems(tmp.path(), "elf").unwrap();
    assert_eq!(
        built, committed,
        "kernels/elf does not hold exactly the kernels build.sh builds: run kernels/build.sh"
    );

    let toolchain = |d: &Path| std::fs::read_to_string(d.join("TOOLCHAIN")).unwrap_or_default();
    let (mine, theirs) = (toolchain(tmp.path()), toolchain(&dir.join("elf")));
    if mine != theirs {
        println!(
            "skipped the byte comparison: the committed kernels were built with\n{theirs}\
             but this machine has\n{mine}(a different compiler emits different bytes)"
        );
        return;
    }
    let mut stale = Vec::new();
    for name in &built {
        let file = format!("{name}.elf");
        let fresh = std::fs::read(tmp.path().join(&file)).unwrap();
        let old = std::fs::read(dir.join("elf").join(&file)).unwrap();
        if fresh != old {
            stale.push(file);
        }
    }
    assert!(
        stale.is_empty(),
        "kernels/elf is stale for {stale:?}: run kernels/build.sh and commit kernels/elf"
    );
}

/// Every compiler and linker flag of `kernels/build.sh` is listed in `kernels/README.md`, so
/// a user building a kernel by hand uses the same ones.
#[test]
fn readme_lists_the_build_flags() {
    let dir = kernels_dir();
    let script = std::fs::read_to_string(dir.join("build.sh")).unwrap();
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
    let mut flags = Vec::new();
    for block in ["cflags=(", "ldflags=("] {
        let start = script.find(block).unwrap() + block.len();
        let body = &script[start..start + script[start..].find(')').unwrap()];
        for line in body.lines() {
            let code = line.split('#').next().unwrap_or("");
            flags.extend(code.split_whitespace().map(|f| f.trim_matches('"').to_string()));
        }
    }
    assert!(flags.len() > 15, "{flags:?}");
    for flag in flags {
        if flag.contains('$') {
            continue; // the path map names the checkout, not a flag to copy
        }
        // The README writes linker flags without their `-Wl,` prefix, each `-z` setting as
        // "4-byte page alignment", and `-T link.ld` as "linked with `link.ld`".
        let bare = flag.trim_start_matches("-Wl,");
        let listed = readme.contains(bare)
            || (bare.starts_with("-z,") && readme.contains("4-byte page alignment"))
            || (bare == "-T" && readme.contains("linked with `link.ld`"));
        assert!(listed, "kernels/README.md does not list build.sh's flag {flag}");
    }
}
