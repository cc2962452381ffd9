//! CSV import of customers: good files, broken files (missing column, bad VIP,
//! duplicate numbers, empty name, bad encoding) with the line numbers of the
//! errors, dry run, and update of existing customers.

use ctibox_daemon::records::{
    AssignedAgent, CustomerQuery, ImportError, ImportFileError, ImportOptions, ImportReport, NewCustomer, NewUser,
    Records, RecordsConfig, Role,
};

fn open() -> (tempfile::TempDir, Records) {
    let dir = tempfile::tempdir().unwrap();
    let records = Records::open(dir.path().join("records.db"), &RecordsConfig::default()).unwrap();
    (dir, records)
}

fn import(records: &Records, data: &[u8], options: ImportOptions) -> ImportReport {
    records.handle().import_customers(data, options).unwrap()
}

fn count(records: &Records) -> usize {
    records.reader().search_customers(&CustomerQuery { text: String::new(), limit: 1000, offset: 0 }).unwrap().len()
}

/// `(line, column)` of each problem.
fn where_(report: &ImportReport) -> Vec<(usize, Option<String>)> {
    report.problems.iter().map(|p| (p.line, p.column.clone())).collect()
}

#[test]
fn a_good_file_with_bom_quotes_and_several_phone_columns() {
    let (_dir, records) = open();
    records
        .handle()
        .create_user(NewUser {
            username: "li".into(),
            role: Role::Agent,
            display_name: String::new(),
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        })
        .unwrap();
    let data = "\u{feff}Name,Company,Phone,Phone 2,Notes,Assigned Agent,VIP,Email\r\n\
                张三,\"ACME, Inc.\",+86 138-0013-8000;010-6552-9988,13900139000,\"likes \"\"tea\"\"\nsecond line\",li,5,zs@example.com\r\n\
                Bob,,+1 555 123 4567,,,Wang,,\r\n";
    let report = import(&records, data.as_bytes(), ImportOptions::default());
    assert_eq!((report.rows, report.inserted, report.updated), (2, 2, 0), "{report:?}");
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.ignored_columns, vec!["Email"]);
    let reader = records.reader();
    let zhang = &reader.customers_by_phone("13800138000").unwrap()[0];
    assert_eq!(zhang.name, "张三");
    assert_eq!(zhang.company, "ACME, Inc.");
    assert_eq!(zhang.notes, "likes \"tea\"\nsecond line");
    assert_eq!(zhang.vip, 5);
    assert_eq!(zhang.phones.len(), 3);
    assert!(matches!(zhang.assigned, Some(AssignedAgent::User(_))), "li is a user");
    let bob = &reader.customers_by_phone("5551234567").unwrap()[0];
    assert_eq!(bob.assigned, Some(AssignedAgent::Name("Wang".into())));
    assert_eq!(bob.vip, 0);
    records.shutdown();
}

#[test]
fn broken_rows_are_reported_by_line_and_the_rest_imports() {
    let (_dir, records) = open();
    records
        .handle()
        .create_customer(NewCustomer {
            name: "Existing".into(),
            phones: vec!["+86 139 0013 9000".into()],
            ..Default::default()
        })
        .unwrap();
    let data = b"name,company,phones,vip\n\
        Alice,A,13800138000,1\n\
        Bob,B,13800138001,high\n\
        ,C,13800138002,\n\
        Dan,D,+86 138 0013 8000,2\n\
        Eve,E,13900139000,\n\
        Fay,\"F\nG\",555-CALL,\n\
        Gus,G,13800138009,10\n\
        Hal,H,13800138010\n\
        Ivy,I,13800138011;13800138011,\n\
        Jo\xe9,J,13800138012,\n\
        Kim,K,13800138013,\n";
    let report = import(&records, data, ImportOptions::default());
    assert_eq!(report.rows, 11);
    assert_eq!(report.inserted, 2, "{:#?}", report.problems);
    let expected: Vec<(usize, Option<String>)> = vec![
        (3, Some("vip".into())),     // not a number
        (4, Some("name".into())),    // empty name
        (5, Some("phone".into())),   // duplicates line 2 (other form)
        (6, Some("phone".into())),   // already stored
        (7, Some("phones".into())),  // letters (record starts on line 7, spans 8)
        (9, Some("vip".into())),     // out of range
        (10, None),                  // wrong field count
        (11, Some("phones".into())), // same number twice
        (12, Some("name".into())),   // not UTF-8
    ];
    assert_eq!(where_(&report), expected, "{:#?}", report.problems);
    let text: Vec<String> = report.problems.iter().map(ToString::to_string).collect();
    assert!(text[2].contains("line 2"), "{}", text[2]);
    assert!(text[3].contains("already belongs to customer 1"), "{}", text[3]);
    assert!(text[4].contains("555-CALL"), "{}", text[4]);
    assert!(text[8].contains("UTF-8") && text[8].contains("0xE9"), "{}", text[8]);
    // Alice and Kim are in; Existing is untouched.
    assert_eq!(count(&records), 3);
    assert_eq!(records.reader().customers_by_phone("13800138013").unwrap()[0].name, "Kim");
    records.shutdown();
}

#[test]
fn file_level_errors_import_nothing() {
    let (_dir, records) = open();
    let handle = records.handle();
    let err = handle.import_customers(b"company,phone\nACME,13800138000\n", ImportOptions::default()).unwrap_err();
    match &err {
        ImportError::File(ImportFileError::Header { line: 1, problem }) => {
            assert!(problem.contains("no \"name\" column"), "{problem}")
        }
        other => panic!("expected a header error, got {other}"),
    }
    let err = handle.import_customers(b"", ImportOptions::default()).unwrap_err();
    assert!(matches!(err, ImportError::File(ImportFileError::Empty)));
    let err = handle.import_customers(b"name,phone\nA,1\nB,\"2\n", ImportOptions::default()).unwrap_err();
    assert!(err.to_string().contains("line 3"), "{err}");
    let err = handle.import_customers(b"n\xe4me,phone\nA,1\n", ImportOptions::default()).unwrap_err();
    assert!(err.to_string().contains("line 1") && err.to_string().contains("UTF-8"), "{err}");
    assert_eq!(count(&records), 0);
    records.shutdown();
}

#[test]
fn dry_run_reports_and_writes_nothing() {
    let (_dir, records) = open();
    let data = b"name,phone\nA,13800138000\nB,13800138000\nC,13800138002\n";
    let report = import(&records, data, ImportOptions { dry_run: true, update_existing: false });
    assert!(report.dry_run);
    assert_eq!(report.inserted, 2);
    assert_eq!(where_(&report), vec![(3, Some("phone".into()))]);
    assert_eq!(count(&records), 0);
    // The real run does what the dry run said.
    let real = import(&records, data, ImportOptions::default());
    assert_eq!((real.inserted, real.problems.len()), (2, 1));
    assert_eq!(count(&records), 2);
    records.shutdown();
}

#[test]
fn update_existing_customers_matched_by_phone() {
    let (_dir, records) = open();
    let handle = records.handle();
    let id = handle
        .create_customer(NewCustomer {
            name: "Zhang".into(),
            company: "Old Co".into(),
            notes: "keep me".into(),
            vip: 1,
            phones: vec!["+86 138 0013 8000".into()],
            ..Default::default()
        })
        .unwrap();
    handle
        .create_customer(NewCustomer { name: "Li".into(), phones: vec!["13900139000".into()], ..Default::default() })
        .unwrap();
    // Without --update the known number is an error.
    let data = b"name,company,phone,vip\nZhang San,New Co,13800138000;010 6552 9988,4\nNew Person,,13700137000,\nBoth,,13800138000;13900139000,\n";
    let plain = import(&records, data, ImportOptions::default());
    assert_eq!(where_(&plain), vec![(2, Some("phone".into())), (4, Some("phone".into()))]);
    assert_eq!(plain.inserted, 1);
    // With it, the row updates the customer: present columns replaced, notes
    // (absent) kept, the new number added.
    let data =
        b"name,company,phone,vip\nBoth,,13800138000;13900139000,\nZhang San,New Co,13800138000;010 6552 9988,4\n";
    let report = import(&records, data, ImportOptions { dry_run: false, update_existing: true });
    assert_eq!((report.inserted, report.updated), (0, 1), "{:?}", report.problems);
    assert_eq!(where_(&report), vec![(2, Some("phone".into()))], "two customers: refused");
    assert!(report.problems[0].problem.contains("two customers"));
    let zhang = records.reader().customer(id).unwrap().unwrap();
    assert_eq!(
        (zhang.name.as_str(), zhang.company.as_str(), zhang.notes.as_str(), zhang.vip),
        ("Zhang San", "New Co", "keep me", 4)
    );
    assert_eq!(
        zhang.phones.iter().map(|p| p.number.as_str()).collect::<Vec<_>>(),
        vec!["+86 138 0013 8000", "010 6552 9988"]
    );
    records.shutdown();
}
