mod common;
use common::*;
use fidex::*;

#[test]
fn smoke() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("v");
    let (v, key, _c) = new_vault(&p, 64);
    let mut f = Faces::new(64, 1);
    let mut ids = vec![];
    let mut centres = vec![];
    for _ in 0..50 {
        let c = f.identity();
        let t = f.capture(&c);
        ids.push(v.enroll(&t, &both(), Some(b"hi")).unwrap().facial_id);
        centres.push(c);
    }
    v.commit().unwrap();
    let probe = f.capture(&centres[7]);
    let hits = v.identify(&probe, 3, None, "identification").unwrap();
    assert_eq!(hits[0].facial_id, ids[7], "{hits:?}");
    let r = v.delete(&ids[7], DeletionReason::SubjectRequest).unwrap();
    receipt::verify(&r, &v.verification_key()).unwrap();
    drop(v);
    let v = Vault::open(&p, &key).unwrap();
    assert_eq!(v.len(), 49);
    assert!(v.identify(&probe, 3, None, "identification").unwrap().iter().all(|m| m.facial_id != ids[7]));
    println!("{:?}", v.stats().unwrap());
}
