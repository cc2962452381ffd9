//! Users, extensions and ring groups: create, read, update, delete, and the
//! conflicts between them.

use ctibox_daemon::records::{
    Extension, NewUser, Records, RecordsConfig, RingGroup, RingStrategy, Role, UserId, UserUpdate, WriteError,
};

const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g";

fn open() -> (tempfile::TempDir, Records) {
    let dir = tempfile::tempdir().unwrap();
    let records = Records::open(dir.path().join("records.db"), &RecordsConfig::default()).unwrap();
    (dir, records)
}

fn ext(number: &str, channel: Option<u32>) -> Extension {
    Extension { number: number.into(), name: format!("Desk {number}"), channel, user: None, ring_groups: Vec::new() }
}

fn group(number: &str, members: &[&str]) -> RingGroup {
    RingGroup {
        number: number.into(),
        name: "Sales".into(),
        strategy: RingStrategy::InOrder,
        ring_timeout_ms: 15_000,
        members: members.iter().map(|m| m.to_string()).collect(),
    }
}

#[test]
fn users_crud() {
    let (_dir, records) = open();
    let handle = records.handle();
    let reader = records.reader();
    let new = |name: &str, role| NewUser {
        username: name.into(),
        role,
        display_name: name.to_uppercase(),
        password_hash: HASH.into(),
    };
    let admin = handle.create_user(new("admin", Role::Admin)).unwrap();
    let agent = handle.create_user(new("li", Role::Agent)).unwrap();
    let err = handle.create_user(new("li", Role::Supervisor)).unwrap_err();
    assert!(matches!(&err, WriteError::Conflict { what: "user", key, .. } if key == "li"), "{err}");
    let err = handle.create_user(new("bad name", Role::Agent)).unwrap_err();
    assert!(matches!(&err, WriteError::Invalid { field, .. } if field == "username"), "{err}");
    let err = handle.create_user(NewUser { password_hash: "secret".into(), ..new("wang", Role::Agent) }).unwrap_err();
    assert!(matches!(&err, WriteError::Invalid { field, .. } if field == "password_hash"), "{err}");

    let li = reader.user_by_username("li").unwrap().unwrap();
    assert_eq!(li.id, agent);
    assert_eq!(li.role, Role::Agent);
    assert_eq!(li.password_hash, HASH);
    assert!(!li.disabled);
    let json = serde_json::to_value(&li).unwrap();
    assert!(json.get("password_hash").is_none(), "the hash is never serialized: {json}");
    assert_eq!(json["role"], "agent");

    let new_hash = "$argon2id$v=19$m=19456,t=2,p=1$b3RoZXI$bmV3aGFzaA";
    let li = handle
        .update_user(
            agent,
            UserUpdate {
                role: Some(Role::Supervisor),
                disabled: Some(true),
                password_hash: Some(new_hash.into()),
                ..UserUpdate::default()
            },
        )
        .unwrap();
    assert_eq!((li.role, li.disabled, li.password_hash.as_str()), (Role::Supervisor, true, new_hash));
    assert_eq!(li.display_name, "LI");
    assert_eq!(reader.users().unwrap().iter().map(|u| u.id).collect::<Vec<_>>(), vec![admin, agent]);
    assert!(handle.delete_user(agent).unwrap());
    assert!(!handle.delete_user(agent).unwrap());
    assert!(reader.user(agent).unwrap().is_none());
    assert!(matches!(
        handle.update_user(UserId(999), UserUpdate::default()),
        Err(WriteError::NotFound { what: "user", .. })
    ));
    records.shutdown();
}

#[test]
fn extensions_and_ring_groups() {
    let (_dir, records) = open();
    let handle = records.handle();
    let reader = records.reader();
    handle.create_extension(ext("8001", Some(5))).unwrap();
    handle.create_extension(ext("8002", Some(6))).unwrap();
    handle.create_extension(ext("8003", None)).unwrap();
    // Conflicts: same number, same channel, bad number.
    assert!(matches!(handle.create_extension(ext("8001", None)), Err(WriteError::Conflict { what: "number", .. })));
    let err = handle.create_extension(ext("8004", Some(5))).unwrap_err();
    assert!(matches!(&err, WriteError::Conflict { what: "channel", .. }), "{err}");
    assert!(err.to_string().contains("8001"), "{err}");
    assert!(matches!(handle.create_extension(ext("80a1", None)), Err(WriteError::Invalid { .. })));

    handle.create_ring_group(group("600", &["8002", "8001"])).unwrap();
    let g = reader.ring_group("600").unwrap().unwrap();
    assert_eq!(g.members, vec!["8002", "8001"]);
    assert_eq!(g.strategy, RingStrategy::InOrder);
    // A ring group number may not be an extension, and the reverse.
    assert!(matches!(handle.create_ring_group(group("8003", &[])), Err(WriteError::Conflict { .. })));
    assert!(matches!(handle.create_extension(ext("600", None)), Err(WriteError::Conflict { .. })));
    // Members must exist, once each.
    let err = handle.create_ring_group(group("601", &["8001", "8999"])).unwrap_err();
    assert!(matches!(&err, WriteError::Invalid { field, .. } if field == "members[1]"), "{err}");
    assert!(reader.ring_group("601").unwrap().is_none(), "a failed create leaves nothing");
    assert!(matches!(handle.create_ring_group(group("601", &["8001", "8001"])), Err(WriteError::Invalid { .. })));

    // Renaming an extension keeps its memberships.
    let mut renamed = ext("8101", Some(5));
    renamed.name = "Front desk".into();
    handle.update_extension("8001", renamed).unwrap();
    assert!(reader.extension("8001").unwrap().is_none());
    let e = reader.extension("8101").unwrap().unwrap();
    assert_eq!(e.ring_groups, vec!["600"]);
    assert_eq!(e.channel, Some(5));
    assert_eq!(reader.ring_group("600").unwrap().unwrap().members, vec!["8002", "8101"]);

    // Update the group: new members and strategy.
    let mut g2 = group("600", &["8003"]);
    g2.strategy = RingStrategy::All;
    handle.update_ring_group("600", g2).unwrap();
    let g = reader.ring_group("600").unwrap().unwrap();
    assert_eq!((g.strategy, g.members.clone()), (RingStrategy::All, vec!["8003".to_string()]));

    // Deleting an extension removes its memberships.
    assert!(handle.delete_extension("8003").unwrap());
    assert!(reader.ring_group("600").unwrap().unwrap().members.is_empty());
    assert_eq!(
        reader.extensions().unwrap().iter().map(|e| e.number.as_str()).collect::<Vec<_>>(),
        vec!["8002", "8101"]
    );
    assert!(handle.delete_ring_group("600").unwrap());
    assert!(reader.ring_groups().unwrap().is_empty());
    assert!(matches!(handle.update_extension("9999", ext("9999", None)), Err(WriteError::NotFound { .. })));
    records.shutdown();
}
