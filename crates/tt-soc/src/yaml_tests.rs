use super::*;

const SMALL: &str = "\
grid: {x_size: 3, y_size: 2}
arc: [0-0]
pcie: [0-1]
dram:
  [[2-0], [2-1]]
eth: []
functional_workers: [1-0, 1-1]
worker_l1_size: 1048576
dram_bank_size: 4096
eth_l1_size: 0
arch_name: WORMHOLE_B0
features: {noc: {translation_id_enabled: true}}
";

#[test]
fn parses_a_small_descriptor() {
    let soc = parse(SMALL, "small.yaml").unwrap();
    assert_eq!(soc.grid_size(), (3, 2));
    assert_eq!(soc.tensix_cores(), vec![NocCoord::new(1, 0), NocCoord::new(1, 1)]);
    assert_eq!(soc.dram_channels().len(), 2);
    assert_eq!(soc.dram_size(), 8192);
    assert_eq!(soc.worker_grid_size(), (1, 2));
    assert!(soc.noc_translation());
}

fn err_of(text: &str) -> String {
    parse(text, "bad.yaml").unwrap_err().to_string()
}

#[test]
fn missing_key_is_reported_at_its_parent_mapping() {
    let text = SMALL.replace("worker_l1_size: 1048576\n", "");
    let err = err_of(&text);
    assert!(
        err.contains("bad.yaml")
            && err.contains("worker_l1_size")
            && err.contains("top-level mapping")
            && err.contains("line 1"),
        "{err}"
    );
    let text = format!(
        "# a comment first\n{}",
        SMALL.replace("grid: {x_size: 3, y_size: 2}", "grid: {x_size: 3}")
    );
    let err = err_of(&text);
    assert!(
        err.contains("`y_size`") && err.contains("`grid` mapping") && err.contains("(line 2)"),
        "{err}"
    );
    let text = SMALL.replace("arch_name: WORMHOLE_B0\n", "");
    assert!(err_of(&text).contains("`arch_name`"));
}

#[test]
fn wrong_type_names_key_and_line() {
    let text = SMALL.replace("dram_bank_size: 4096", "dram_bank_size: lots");
    let err = err_of(&text);
    assert!(err.contains("dram_bank_size") && err.contains("line 9"), "{err}");
}

#[test]
fn bad_coordinate_names_key_token_and_line() {
    let text = SMALL.replace("functional_workers: [1-0, 1-1]", "functional_workers: [1-0, 1-x]");
    let err = err_of(&text);
    assert!(
        err.contains("functional_workers") && err.contains("1-x") && err.contains("line 7"),
        "{err}"
    );
}

#[test]
fn out_of_grid_coordinate_is_refused() {
    let text = SMALL.replace("functional_workers: [1-0, 1-1]", "functional_workers: [1-0, 7-1]");
    let err = err_of(&text);
    assert!(err.contains("outside the 3x2 grid"), "{err}");
}

#[test]
fn overlapping_cores_are_refused() {
    let text = SMALL.replace("functional_workers: [1-0, 1-1]", "functional_workers: [1-0, 0-0]");
    let err = err_of(&text);
    assert!(err.contains("already arc"), "{err}");
}

#[test]
fn a_duplicate_core_is_reported_where_it_repeats() {
    let text = SMALL.replace(
        "functional_workers: [1-0, 1-1]",
        "functional_workers:\n  [1-0,\n   1-1,\n   1-0]",
    );
    let err = err_of(&text);
    // The first 1-0 is on line 8, the duplicate on line 10.
    assert!(err.contains("functional_workers") && err.contains("line 10"), "{err}");
    // Across keys: the later key's entry is the duplicate.
    let text = SMALL.replace("eth: []", "eth: [2-1]");
    let err = err_of(&text);
    assert!(
        err.contains("key `dram`") && err.contains("line 5") && err.contains("already ethernet"),
        "{err}"
    );
}

#[test]
fn dram_views_give_banks_inside_channels() {
    let text = SMALL.replace(
        "eth: []",
        "eth: []\ndram_views: [{channel: 0, eth_endpoint: [0, 0], worker_endpoint: [0, 0], address_offset: 0},\n  {channel: 0, address_offset: 2048}, {channel: 1, address_offset: 0}]\ndram_view_size: 2048",
    );
    let soc = parse(&text, "views.yaml").unwrap();
    assert_eq!(soc.dram_channels().len(), 2);
    assert_eq!(soc.dram_channels()[0].size, 4096);
    let banks: Vec<_> = soc.dram_banks().iter().map(|b| (b.channel, b.offset, b.size)).collect();
    assert_eq!(banks, vec![(0, 0, 2048), (0, 2048, 2048), (1, 0, 2048)]);
    let bad = text.replace("{channel: 1, address_offset: 0}", "{channel: 2, address_offset: 0}");
    assert!(err_of(&bad).contains("names channel 2"), "{}", err_of(&bad));
    let overlap = text.replace("address_offset: 2048", "address_offset: 1024");
    assert!(err_of(&overlap).contains("overlaps"), "{}", err_of(&overlap));
    let no_size = text.replace("dram_view_size: 2048", "");
    assert!(err_of(&no_size).contains("`dram_view_size`"), "{}", err_of(&no_size));
}

#[test]
fn harvested_workers_imply_the_tensix_mask() {
    let text = SMALL.replace(
        "functional_workers: [1-0, 1-1]",
        "functional_workers: [1-1]\nharvested_workers: [1-0]",
    );
    let soc = parse(&text, "h.yaml").unwrap();
    assert_eq!(soc.harvesting_mask(), 0b1);
    assert_eq!(soc.tensix_harvest_lines(), &[0, 1]);
}

#[test]
fn unknown_arch_and_garbage_are_errors_not_panics() {
    let err = err_of(&SMALL.replace("WORMHOLE_B0", "GRAYSKULL"));
    assert!(err.contains("arch_name") && err.contains("GRAYSKULL"), "{err}");
    assert!(parse("", "x").is_err());
    assert!(parse("[1, 2", "x").is_err());
    assert!(parse("grid: 5", "x").is_err());
    let bad_noc1 = SMALL.replace("eth: []", "eth: []\nnoc0_x_to_noc1_x: [0, 1, 2]");
    assert!(err_of(&bad_noc1).contains("mirroring"), "{}", err_of(&bad_noc1));
}

// Hostile input: every case is refused quickly, with a short message, before any large
// allocation.

#[test]
fn a_huge_grid_is_refused_before_anything_is_sized_by_it() {
    let text = SMALL.replace("{x_size: 3, y_size: 2}", "{x_size: 65535, y_size: 65535}");
    let start = std::time::Instant::now();
    let err = err_of(&text);
    assert!(err.contains("key `grid`") && err.contains("6 bits"), "{err}");
    assert!(start.elapsed() < std::time::Duration::from_secs(1), "{:?}", start.elapsed());
    let text = SMALL.replace("{x_size: 3, y_size: 2}", "{x_size: 64, y_size: 65}");
    assert!(err_of(&text).contains("at most 64"));
}

#[test]
fn deeply_nested_brackets_are_refused_at_once_naming_the_line() {
    let nested = format!("grid: {{x_size: 3, y_size: 2}}\narc: {}", "[".repeat(100_000));
    let start = std::time::Instant::now();
    let err = err_of(&nested);
    assert!(err.contains("nest more than 16 deep at line 2"), "{err}");
    assert!(start.elapsed() < std::time::Duration::from_secs(1), "{:?}", start.elapsed());
    // Brackets inside quoted strings and comments are text, not nesting.
    let quoted = SMALL.replace(
        "eth: []\n",
        &format!("eth: []\n# {}\nsecurity: []  # {}\n", "[".repeat(40), "{".repeat(40)),
    );
    parse(&quoted, "q.yaml").expect("brackets in comments do not count");
}

#[test]
fn oversized_text_is_refused_and_long_values_are_quoted_by_a_short_prefix() {
    let huge = format!("{SMALL}# {}\n", "x".repeat(MAX_DESCRIPTOR_BYTES));
    assert!(err_of(&huge).contains("at most 1048576 bytes"));
    // A long field under the size limit: the message quotes a prefix and the length.
    let long = "A".repeat(500_000);
    for text in [
        SMALL.replace("arch_name: WORMHOLE_B0", &format!("arch_name: {long}")),
        SMALL.replace("functional_workers: [1-0, 1-1]", &format!("functional_workers: [{long}]")),
        SMALL.replace("worker_l1_size: 1048576", &format!("worker_l1_size: {long}")),
    ] {
        let err = err_of(&text);
        assert!(err.len() < 400, "{} bytes: {}…", err.len(), &err[..200]);
    }
    let err = err_of(&SMALL.replace("arch_name: WORMHOLE_B0", &format!("arch_name: {long}")));
    assert!(err.contains("(500000 bytes)") && err.contains("key `arch_name` (line"), "{err}");
    // The parser's own messages still name the line.
    let err = err_of(&SMALL.replace("worker_l1_size: 1048576", &format!("worker_l1_size: {long}")));
    assert!(err.contains("line 8 column"), "{err}");
}

#[test]
fn a_descriptor_path_that_is_a_fifo_or_a_directory_is_refused_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("soc.yaml");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let (send, receive) = std::sync::mpsc::channel();
    let path = fifo.clone();
    std::thread::spawn(move || {
        let _ =
            send.send(SocDescriptor::from_yaml_file(&path).map(|_| ()).map_err(|e| e.to_string()));
    });
    let result = receive.recv_timeout(std::time::Duration::from_secs(10)).expect("never blocks");
    assert!(result.unwrap_err().contains("not a regular file"));
    let err = SocDescriptor::from_yaml_file(dir.path()).unwrap_err().to_string();
    assert!(err.contains("not a regular file"), "{err}");
    let big = dir.path().join("big.yaml");
    std::fs::write(&big, vec![b'#'; MAX_DESCRIPTOR_BYTES + 1]).unwrap();
    let err = SocDescriptor::from_yaml_file(&big).unwrap_err().to_string();
    assert!(err.contains("at most 1048576 bytes"), "{err}");
}

#[test]
fn harvesting_that_leaves_no_tensix_core_or_dram_bank_is_refused() {
    let wormhole = SocDescriptor::builtin(Arch::WormholeB0);
    let all_rows = (1u32 << wormhole.tensix_harvest_lines().len()) - 1;
    let err = wormhole.with_harvesting_masks(HarvestingMasks::tensix(all_rows)).unwrap_err();
    assert!(err.to_string().contains("every Tensix row"), "{err}");
    // A descriptor's own harvested rows plus a mask that removes the rest.
    let small = parse(
        &SMALL.replace(
            "functional_workers: [1-0, 1-1]",
            "functional_workers: [1-0]\nharvested_workers: [1-1]",
        ),
        "s.yaml",
    )
    .unwrap();
    for mask in [1, 3] {
        let err = small.with_harvesting_masks(HarvestingMasks::tensix(mask)).unwrap_err();
        assert!(err.to_string().contains("Tensix"), "{err}");
    }
    let all_channels = (1u32 << wormhole.all_dram_channels().len()) - 1;
    let masks = HarvestingMasks { tensix: 0, dram: all_channels, eth: 0, pcie: 0 };
    match wormhole.with_harvesting_masks(masks) {
        Err(err) => assert!(err.to_string().to_lowercase().contains("dram"), "{err}"),
        Ok(soc) => panic!("{} DRAM banks left", soc.dram_banks().len()),
    }
}

/// Issue 19: `SocDescriptor::dram_size` overflowed on a descriptor whose channels add up past
/// u64 (found by fuzzing a flow-style YAML). The parser now refuses every size whose total
/// would not fit, naming the key.
#[test]
fn sizes_whose_totals_overflow_are_refused() {
    let huge = SMALL.replace("dram_bank_size: 4096", "dram_bank_size: 18446744073709551615");
    let err = err_of(&huge);
    assert!(err.contains("dram_bank_size") && err.contains("2 DRAM channels"), "{err}");
    let half = SMALL.replace("dram_bank_size: 4096", "dram_bank_size: 9223372036854775808");
    assert!(err_of(&half).contains("more than 2^64 bytes"));
    // One channel of the largest size still fits, and sums without overflow.
    let one = huge.replace("[[2-0], [2-1]]", "[[2-0]]");
    assert_eq!(parse(&one, "one.yaml").unwrap().dram_size(), u64::MAX);
    let l1 = SMALL.replace("worker_l1_size: 1048576", "worker_l1_size: 18446744073709551615");
    assert!(err_of(&l1).contains("the L1 of 2 Tensix cores"), "{}", err_of(&l1));
}

/// Issue 19: descriptors tt-umd accepts and we refused. Each is accepted, as the module doc
/// says what we do with the looser part.
#[test]
fn descriptors_tt_umd_accepts_are_accepted() {
    // A `dram_address_offsets` list shorter or longer than `dram` (tt-umd does not read it):
    // missing entries are 0, extra ones ignored.
    let short = SMALL.replace("eth: []", "eth: []\ndram_address_offsets: [0]");
    let soc = parse(&short, "short.yaml").unwrap();
    assert_eq!(soc.dram_banks().iter().map(|b| b.offset).collect::<Vec<_>>(), [0, 0]);
    let long = SMALL.replace("eth: []", "eth: []\ndram_address_offsets: [0, 0, 4096]");
    assert_eq!(parse(&long, "long.yaml").unwrap().dram_banks().len(), 2);
    // A router-only list naming a core twice, or a core listed as something else
    // (tt-metal's blackhole_140_arch_local names 2-0 twice): the core keeps its kind.
    let twice = SMALL.replace("eth: []", "eth: []\nrouter_only: [0-1, 2-0, 2-0]");
    let soc = parse(&twice, "twice.yaml").unwrap();
    assert_eq!(soc.kind_at(NocCoord::new(0, 1)), Some(CoreKind::Pcie));
    assert_eq!(soc.kind_at(NocCoord::new(2, 0)), Some(CoreKind::Dram));
    // Scalar `dram_views` endpoints: the number is the NOC0 entry.
    let scalar = SMALL.replace(
        "eth: []",
        "eth: []\ndram_views: [{channel: 0, worker_endpoint: 0, eth_endpoint: 0}, \
         {channel: 1, worker_endpoint: [0, 0]}]\ndram_view_size: 4096",
    );
    let soc = parse(&scalar, "scalar.yaml").unwrap();
    assert_eq!(soc.dram_banks().len(), 2);
    assert_eq!(soc.dram_bank_endpoint(&soc.dram_banks()[0]), Some(NocCoord::new(2, 0)));
    let beyond = scalar.replace("worker_endpoint: 0,", "worker_endpoint: 3,");
    assert!(err_of(&beyond).contains("beyond channel 0"), "{}", err_of(&beyond));
}
