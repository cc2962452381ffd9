//! Customers: create, read, update, delete, search, and the screen-pop lookup
//! by phone number (national and international forms).

use ctibox_daemon::records::{
    AssignedAgent, CustomerQuery, CustomerUpdate, NewCustomer, NewUser, QueryError, Records, RecordsConfig, Role,
    WriteError,
};

fn open() -> (tempfile::TempDir, Records) {
    let dir = tempfile::tempdir().unwrap();
    let records = Records::open(dir.path().join("records.db"), &RecordsConfig::default()).unwrap();
    (dir, records)
}

fn customer(name: &str, company: &str, phones: &[&str]) -> NewCustomer {
    NewCustomer {
        name: name.into(),
        company: company.into(),
        phones: phones.iter().map(|p| p.to_string()).collect(),
        ..NewCustomer::default()
    }
}

fn query(text: &str) -> CustomerQuery {
    CustomerQuery { text: text.into(), limit: 100, offset: 0 }
}

#[test]
fn crud() {
    let (_dir, records) = open();
    let handle = records.handle();
    let reader = records.reader();
    let user = handle
        .create_user(NewUser {
            username: "li".into(),
            role: Role::Agent,
            display_name: "Li Wei".into(),
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g".into(),
        })
        .unwrap();
    let id = handle
        .create_customer(NewCustomer {
            name: "  Zhang San ".into(),
            company: "ACME".into(),
            notes: "prefers mornings".into(),
            assigned: Some(AssignedAgent::User(user)),
            vip: 3,
            phones: vec!["+86 138-0013-8000".into(), "010 6552 9988".into()],
        })
        .unwrap();
    let stored = reader.customer(id).unwrap().unwrap();
    assert_eq!(stored.name, "Zhang San");
    assert_eq!(stored.assigned, Some(AssignedAgent::User(user)));
    assert_eq!(stored.vip, 3);
    assert_eq!(stored.phones.len(), 2);
    assert_eq!(stored.phones[0].number, "+86 138-0013-8000");
    assert_eq!(stored.phones[0].digits, "+8613800138000");
    assert_eq!(stored.created_wall_ms, stored.updated_wall_ms);

    let updated = handle
        .update_customer(
            id,
            CustomerUpdate {
                company: Some("ACME Ltd".into()),
                assigned: Some(Some(AssignedAgent::Name("Wang".into()))),
                phones: Some(vec!["13800138000".into()]),
                ..CustomerUpdate::default()
            },
        )
        .unwrap();
    assert_eq!(updated.name, "Zhang San");
    assert_eq!(updated.company, "ACME Ltd");
    assert_eq!(updated.notes, "prefers mornings");
    assert_eq!(updated.assigned, Some(AssignedAgent::Name("Wang".into())));
    assert_eq!(updated.phones.len(), 1);
    assert!(reader.customers_by_phone("010 6552 9988").unwrap().is_empty(), "old number removed");

    assert!(handle.delete_customer(id).unwrap());
    assert!(!handle.delete_customer(id).unwrap());
    assert!(reader.customer(id).unwrap().is_none());
    assert!(reader.customers_by_phone("13800138000").unwrap().is_empty());
    assert!(matches!(
        handle.update_customer(id, CustomerUpdate::default()),
        Err(WriteError::NotFound { what: "customer", .. })
    ));
    records.shutdown();
}

#[test]
fn validation_errors_name_the_field() {
    let (_dir, records) = open();
    let handle = records.handle();
    let err = handle.create_customer(customer("  ", "", &[])).unwrap_err();
    assert!(matches!(&err, WriteError::Invalid { field, .. } if field == "name"), "{err}");
    let err = handle.create_customer(NewCustomer { vip: 12, ..customer("A", "", &[]) }).unwrap_err();
    assert!(matches!(&err, WriteError::Invalid { field, .. } if field == "vip"), "{err}");
    let err = handle.create_customer(customer("A", "", &["555-1234 ext 5"])).unwrap_err();
    assert!(matches!(&err, WriteError::Invalid { field, .. } if field == "phones"), "{err}");
    assert!(err.to_string().contains("555-1234 ext 5"), "{err}");
    let err = handle.create_customer(customer("A", "", &["13800138000", "+86 13800138000"])).unwrap_err();
    assert!(err.to_string().contains("same number"), "{err}");
    let err = handle
        .create_customer(NewCustomer {
            assigned: Some(AssignedAgent::User(ctibox_daemon::records::UserId(99))),
            ..customer("A", "", &[])
        })
        .unwrap_err();
    assert!(matches!(&err, WriteError::Invalid { field, .. } if field == "assigned_agent"), "{err}");
    records.shutdown();
}

#[test]
fn a_number_belongs_to_one_customer() {
    let (_dir, records) = open();
    let handle = records.handle();
    let first = handle.create_customer(customer("A", "", &["+86 138 0013 8000"])).unwrap();
    // Same number in another form.
    let err = handle.create_customer(customer("B", "", &["138 0013 8000"])).unwrap_err();
    match &err {
        WriteError::Conflict { what: "phone number", detail, .. } => {
            assert!(detail.contains(&format!("customer {first}")), "{err}")
        }
        other => panic!("expected a conflict, got {other}"),
    }
    // The customer itself may keep its number in another form.
    handle
        .update_customer(first, CustomerUpdate { phones: Some(vec!["13800138000".into()]), ..Default::default() })
        .unwrap();
    records.shutdown();
}

#[test]
fn lookup_by_phone_matches_national_and_international_forms() {
    let (_dir, records) = open();
    let handle = records.handle();
    let zhang = handle.create_customer(customer("Zhang", "", &["+86 138-0013-8000"])).unwrap();
    let li = handle.create_customer(customer("Li", "", &["13900139000"])).unwrap();
    let office = handle.create_customer(customer("Office", "", &["010-6552-9988"])).unwrap();
    let usa = handle.create_customer(customer("Smith", "", &["+1 (555) 123-4567"])).unwrap();
    let ext = handle.create_customer(customer("Reception", "", &["8001"])).unwrap();
    let reader = records.reader();
    let found = |n: &str| reader.customers_by_phone(n).unwrap().iter().map(|c| c.id).collect::<Vec<_>>();
    // Stored international, incoming national (the brief's example).
    assert_eq!(found("13800138000"), vec![zhang]);
    assert_eq!(found("+86 138 0013 8000"), vec![zhang]);
    assert_eq!(found("008613800138000"), vec![zhang]);
    // Stored national, incoming international.
    assert_eq!(found("+8613900139000"), vec![li]);
    // Trunk prefix 0 and area code.
    assert_eq!(found("+86 10 6552 9988"), vec![office]);
    assert_eq!(found("01065529988"), vec![office]);
    assert_eq!(found("65529988"), vec![office]);
    // NANP.
    assert_eq!(found("5551234567"), vec![usa]);
    assert_eq!(found("1 555 123 4567"), vec![usa]);
    // Short numbers only match exactly.
    assert_eq!(found("8001"), vec![ext]);
    assert!(found("18001").is_empty());
    assert!(found("001").is_empty());
    // Near misses.
    assert!(found("13800138001").is_empty());
    assert!(found("").is_empty());
    assert!(found("anonymous").is_empty());
    records.shutdown();
}

#[test]
fn search_by_name_company_and_digits() {
    let (_dir, records) = open();
    let handle = records.handle();
    let a = handle.create_customer(customer("Alice Wong", "ACME", &["+86 138 0013 8000"])).unwrap();
    let b = handle.create_customer(customer("bob", "Acme Trading", &["13900139000"])).unwrap();
    let c = handle.create_customer(customer("Carol 100%", "Other", &["020 1234 5678"])).unwrap();
    let reader = records.reader();
    let found = |q: CustomerQuery| reader.search_customers(&q).unwrap().iter().map(|c| c.id).collect::<Vec<_>>();
    assert_eq!(found(query("acme")), vec![a, b]);
    assert_eq!(found(query("WONG")), vec![a]);
    assert_eq!(found(query("100%")), vec![c]);
    assert_eq!(found(query("0%")), vec![c]);
    assert_eq!(found(query("8000")), vec![a]);
    assert_eq!(found(query("139 0013 9000")), vec![b]);
    assert_eq!(found(query("")), vec![a, b, c]);
    assert_eq!(found(CustomerQuery { text: String::new(), limit: 2, offset: 1 }), vec![b, c]);
    assert!(matches!(
        reader.search_customers(&CustomerQuery { text: "x".into(), limit: 0, offset: 0 }),
        Err(QueryError::Invalid { field: "limit", .. })
    ));
    let json = serde_json::to_value(reader.customer(a).unwrap().unwrap()).unwrap();
    assert_eq!(json["phones"][0]["digits"], "+8613800138000");
    records.shutdown();
}
