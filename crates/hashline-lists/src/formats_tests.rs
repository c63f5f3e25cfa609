//! Tests of the importers.
use super::*;

fn run(format: Format, text: &str) -> Parsed {
    parse(format, "test", text, &ParseOptions::default())
}

#[test]
fn pytx_file_with_types_and_bare_values() {
    let p = run(Format::PytxFile, "# comment\npdq f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22\nmd5 D41D8CD98F00B204E9800998ECF8427E\n\nbogus\n");
    assert_eq!(p.entries.len(), 2);
    assert_eq!(p.entries[1].value, "d41d8cd98f00b204e9800998ecf8427e");
    assert_eq!(p.errors.len(), 1);
    assert_eq!(p.errors[0].place, "line 5");
    let bare = parse(
        Format::PytxFile,
        "f",
        "d41d8cd98f00b204e9800998ecf8427e\n",
        &ParseOptions { signal: Some(SignalType::Md5) },
    );
    assert_eq!(bare.entries.len(), 1);
}

#[test]
fn pytx_dataset_print_output_is_read() {
    // `threatexchange dataset -P` of python-threatexchange 1.2.17, with and without -c/-s.
    let pdq = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
    let text = format!(
        "pdq {pdq} 'Sample Signals' INVESTIGATION_SEED\n\
         video_md5 d41d8cd98f00b204e9800998ecf8427e 'Sample Signals' INVESTIGATION_SEED\n\
         md5 d41d8cd98f00b204e9800998ecf8427e INVESTIGATION_SEED\n\
         sha256 {pdq} \"it's ours\" FetchedSignalMetadata()\n"
    );
    let p = run(Format::PytxFile, &text);
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    assert_eq!(p.entries.len(), 4);
    assert_eq!(p.entries[0].tags, vec!["collab:Sample Signals", "category:investigation_seed"]);
    assert_eq!(p.entries[1].signal, SignalType::Md5);
    assert_eq!(p.entries[2].tags, vec!["category:investigation_seed"]);
    assert_eq!(p.entries[3].tags, vec!["collab:it's ours"]);
    // Under `-s pdq` the type is left out: the value comes first.
    let typed = parse(
        Format::PytxFile,
        "f",
        &format!("{pdq} 'Sample Signals' INVESTIGATION_SEED\n"),
        &ParseOptions { signal: Some(SignalType::Pdq) },
    );
    assert!(typed.errors.is_empty(), "{:?}", typed.errors);
    assert_eq!(typed.entries[0].value, pdq);
    // A stray third field is still an error, and so is an unclosed collaboration name.
    let bad = run(Format::PytxFile, &format!("pdq {pdq} extra\npdq {pdq} 'open\n"));
    assert_eq!(bad.entries.len(), 0);
    assert_eq!(bad.errors.len(), 2);
}

#[test]
fn a_byte_order_mark_is_not_part_of_the_first_record() {
    let p = run(Format::PytxFile, "\u{feff}md5 d41d8cd98f00b204e9800998ecf8427e\n");
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    let csv = run(
        Format::PytxCsv,
        "\u{feff}signal_type,signal_str,collab,category,tags\nmd5,d41d8cd98f00b204e9800998ecf8427e,,,\n",
    );
    assert!(csv.errors.is_empty(), "{:?}", csv.errors);
    assert_eq!(csv.entries.len(), 1);
}

#[test]
fn hex_needs_a_type_for_64_digits() {
    let p = run(Format::Hex, &format!("{}\n{}\n{}\nxyz\n", "a".repeat(32), "b".repeat(40), "c".repeat(64)));
    assert_eq!(
        p.entries.iter().map(|e| e.signal.clone()).collect::<Vec<_>>(),
        vec![SignalType::Md5, SignalType::Sha1]
    );
    assert_eq!(p.errors.len(), 2);
    assert!(p.errors[0].message.contains("--type"));
}

#[test]
fn pytx_csv_keeps_category_and_tags() {
    let p = run(
        Format::PytxCsv,
        "signal_type,signal_str,collab,category,tags\npdq,f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22,demo,A1,\"t1 t2\"\nmd5,nothex,demo,,\n",
    );
    assert_eq!(p.entries.len(), 1);
    assert_eq!(p.entries[0].classification, Some(Classification::A1));
    assert_eq!(p.entries[0].tags, vec!["t1", "t2", "collab:demo"]);
    assert_eq!(p.errors[0].place, "line 3");
}

#[test]
fn vics_json_upper_case_hex_and_categories() {
    let p = run(
        Format::VicsJson,
        r#"{"value":[{"MediaID":7,"Category":1,"MD5":"D41D8CD98F00B204E9800998ECF8427E","SHA1":"DA39A3EE5E6B4B0D3255BFEF95601890AFD80709"},{"MediaID":8}]}"#,
    );
    assert_eq!(p.entries.len(), 2);
    assert_eq!(p.entries[0].id, "vics:7");
    assert_eq!(p.entries[0].classification, Some(Classification::Other("vics-1".into())));
    assert_eq!(p.errors.len(), 1);
}

#[test]
fn ncmec_xml_entries_and_tombstones() {
    let xml = r#"<?xml version="1.0"?>
<queryResult xmlns="https://hashsharing.ncmec.org/hashsharing/v2">
  <images>
<image><member id="42">Example ESP</member><timestamp>2024-01-02T03:04:05Z</timestamp><id>img-1</id>
  <classification>A2</classification>
  <fingerprints><md5>d41d8cd98f00b204e9800998ecf8427e</md5><pdq>f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22</pdq><photodna>AAAA</photodna></fingerprints>
</image>
  </images>
  <deletedImages><deletedImage><member id="42">Example ESP</member><id>img-0</id><timestamp>2024-01-03T00:00:00Z</timestamp></deletedImage></deletedImages>
</queryResult>"#;
    let p = run(Format::NcmecXml, xml);
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    assert_eq!(p.entries.len(), 3);
    assert!(p.entries.iter().all(|e| e.id == "ncmec:img-1" && e.classification == Some(Classification::A2)));
    assert_eq!(p.entries[2].signal, SignalType::Other("photodna".into()));
    assert_eq!(p.tombstones, vec!["ncmec:img-0"]);
    let broken = run(Format::NcmecXml, "<queryResult><images><image><id>x</id>");
    assert!(!broken.errors.is_empty());
}
