use super::*;
use proptest::prelude::*;

type Writes = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

fn commit(store: &MemTreeStore, version: Version, writes: Writes) -> StateCommit {
    let c = commit_writes(store, version, writes).expect("commit");
    store.apply(&c);
    c
}

/// The root of a tree holding exactly `state`, built in one version from nothing.
fn fresh_root(state: &BTreeMap<Vec<u8>, Vec<u8>>) -> Hash32 {
    let w: Writes = state.iter().map(|(k, v)| (k.clone(), Some(v.clone()))).collect();
    commit_writes(&MemTreeStore::new(), 0, w).expect("fresh").root
}

fn proves(store: &MemTreeStore, root: &Hash32, version: Version, key: &[u8], expected: Option<&[u8]>) {
    let p = prove(store, key, version).expect("proof");
    assert_eq!(p.value.as_deref(), expected, "value of {key:?} at {version}");
    assert!(p.verify(root), "proof of {key:?} at {version}");
    // The same proof does not show another value, another key or another root.
    assert!(!p.proof.verify(root, &key_hash(&p.key), Some(b"something else")), "other value");
    assert!(!p.proof.verify(&Hash32::of(b"other root"), &key_hash(&p.key), expected), "other root");
    if expected.is_some() {
        assert!(!p.proof.verify(root, &key_hash(&p.key), None), "absence of a present key");
    }
}

#[test]
fn one_key_root_is_the_documented_hash() {
    let store = MemTreeStore::new();
    let c = commit(&store, 0, BTreeMap::from([(b"a".to_vec(), Some(b"1".to_vec()))]));
    let kh = key_hash(b"a");
    let leaf = leaf_hash(&kh, &Hash32(sm3(b"1")));
    let bitmap = 1u16 << kh.nibble(0);
    let mut pre = vec![NODE_TAG];
    pre.extend_from_slice(&bitmap.to_be_bytes());
    pre.extend_from_slice(&leaf.0);
    assert_eq!(c.root, Hash32(sm3(&pre)));
    let mut leaf_pre = vec![LEAF_TAG];
    leaf_pre.extend_from_slice(&kh.0);
    leaf_pre.extend_from_slice(&sm3(b"1"));
    assert_eq!(leaf, Hash32(sm3(&leaf_pre)));
    assert_eq!(c.nodes.len(), 1, "one root node, the leaf is inline");
}

#[test]
fn empty_tree_and_empty_versions() {
    let store = MemTreeStore::new();
    let c0 = commit(&store, 0, BTreeMap::new());
    assert_eq!(c0.root, Hash32(sm3(&[NODE_TAG, 0, 0])));
    proves(&store, &c0.root, 0, b"nothing", None);
    let c1 = commit(&store, 1, BTreeMap::from([(b"k".to_vec(), Some(b"v".to_vec()))]));
    // A version without writes keeps the root, and writes it under its own version.
    let c2 = commit(&store, 2, BTreeMap::new());
    assert_eq!(c2.root, c1.root);
    assert_eq!(root_at(&store, 2).expect("root 2"), c1.root);
    proves(&store, &c2.root, 2, b"k", Some(b"v"));
    // Deleting the last key gives the empty root back.
    let c3 = commit(&store, 3, BTreeMap::from([(b"k".to_vec(), None)]));
    assert_eq!(c3.root, c0.root);
    proves(&store, &c3.root, 3, b"k", None);
}

#[test]
fn a_missing_previous_version_is_an_error_not_an_empty_tree() {
    let store = MemTreeStore::new();
    let err = commit_writes(&store, 5, BTreeMap::from([(b"k".to_vec(), Some(b"v".to_vec()))])).unwrap_err();
    assert!(err.0.contains("missing"), "{err}");
    assert!(prove(&store, b"k", 5).is_err());
}

#[test]
fn stored_nodes_decode_and_bad_ones_are_refused() {
    let store = MemTreeStore::new();
    let w: Writes = (0..100u32).map(|i| (i.to_be_bytes().to_vec(), Some(vec![i as u8; 3]))).collect();
    let c = commit(&store, 0, w);
    for (_, n) in &c.nodes {
        assert_eq!(&InternalNode::from_bytes(&n.to_bytes()).expect("decodes"), n.as_ref());
    }
    let leaf = Child::Leaf { key: KeyHash([1; 32]), hash: Hash32([2; 32]) };
    let unordered = crate::codec::encode(&vec![(3u8, leaf), (2u8, leaf)]);
    assert!(InternalNode::from_bytes(&unordered).is_err());
    let out_of_range = crate::codec::encode(&vec![(16u8, leaf)]);
    assert!(InternalNode::from_bytes(&out_of_range).is_err());
    assert!(InternalNode::from_bytes(&[1, 2, 3]).is_err());
}

#[test]
fn node_keys_mask_the_path_and_sort_by_version_depth_path() {
    let kh = KeyHash([0xab; 32]);
    assert_eq!(NodeKey::new(&kh, 0, 7).to_bytes(), [&7u64.to_be_bytes()[..], &[0u8]].concat());
    assert_eq!(NodeKey::new(&kh, 3, 7).to_bytes(), [&7u64.to_be_bytes()[..], &[3u8, 0xab, 0xa0]].concat());
    // Byte order is key order.
    let mut keys: Vec<NodeKey> =
        (0..40u64).map(|i| NodeKey::new(&KeyHash([(i as u8).wrapping_mul(37); 32]), (i % 5) as usize, i % 3)).collect();
    keys.sort();
    assert!(keys.windows(2).all(|w| w[0].to_bytes() <= w[1].to_bytes()));
    assert_eq!(NodeKey::new(&kh, 3, 7).to_string(), "[aba]@7");
    assert_eq!(
        NodeKey::new(&kh, 3, 7),
        NodeKey::new(
            &KeyHash([0xab, 0xaf].into_iter().chain([0; 30]).collect::<Vec<u8>>().try_into().expect("32")),
            3,
            7
        )
    );
}

#[derive(Debug, Clone)]
enum Step {
    Put(u16, u8),
    Delete(u16),
}

fn step() -> impl Strategy<Value = Step> {
    // A small key space, so that writes hit existing keys, deletions hit present ones, and paths
    // collide often enough to build and collapse deeper nodes.
    prop_oneof![
        3 => (0u16..300, any::<u8>()).prop_map(|(k, v)| Step::Put(k, v)),
        1 => (0u16..300).prop_map(Step::Delete),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Whatever the history, each version's root is the root of a tree built from scratch from that
    /// version's key set (the shape is canonical); every key, present or not, has a proof that verifies
    /// and that shows nothing else; and older versions stay readable and provable.
    #[test]
    fn roots_are_canonical_and_proofs_hold(
        versions in prop::collection::vec(prop::collection::vec(step(), 0..60), 1..8),
    ) {
        let store = MemTreeStore::new();
        let mut state: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        let mut history = Vec::new();
        for (version, steps) in versions.iter().enumerate() {
            let mut w: Writes = BTreeMap::new();
            for s in steps {
                let (k, v) = match s {
                    Step::Put(k, v) => (k, Some(vec![*v; 1 + *k as usize % 40])),
                    Step::Delete(k) => (k, None),
                };
                w.insert(format!("key/{k}").into_bytes(), v);
            }
            for (k, v) in &w {
                match v { Some(v) => { state.insert(k.clone(), v.clone()); } None => { state.remove(k); } }
            }
            let c = commit(&store, version as u64, w);
            prop_assert_eq!(c.root, fresh_root(&state), "version {}", version);
            prop_assert_eq!(root_at(&store, version as u64).expect("root"), c.root);
            history.push((c.root, state.clone()));
        }
        for (version, (root, state)) in history.iter().enumerate() {
            for k in (0..300u16).step_by(7) {
                let key = format!("key/{k}").into_bytes();
                proves(&store, root, version as u64, &key, state.get(&key).map(Vec::as_slice));
            }
        }
    }
}

/// Two keys whose hashes share their first seven nibbles (found by search, deterministic).
fn deep_pair() -> (Vec<u8>, Vec<u8>) {
    let mut seen: HashMap<[u8; 4], Vec<u8>> = HashMap::new();
    for i in 0u32.. {
        let k = format!("deep/{i}").into_bytes();
        let h = key_hash(&k).0;
        let prefix = [h[0], h[1], h[2], h[3] & 0xf0];
        if let Some(other) = seen.insert(prefix, k.clone()) {
            return (other, k);
        }
    }
    unreachable!("u32 keys exhausted")
}

#[test]
fn long_shared_paths_build_deep_nodes_and_collapse_back() {
    let (a, b) = deep_pair();
    let store = MemTreeStore::new();
    let c0 = commit(&store, 0, BTreeMap::from([(b"other".to_vec(), Some(b"x".to_vec()))]));
    let c1 = commit(&store, 1, BTreeMap::from([(a.clone(), Some(b"A".to_vec())), (b.clone(), Some(b"B".to_vec()))]));
    // The two keys sit below a chain of single-child nodes down to where their hashes differ.
    let depth = prove(&store, &a, 1).expect("proof").proof.levels.len();
    assert!(depth >= 8, "paths share seven nibbles: {depth} levels");
    proves(&store, &c1.root, 1, &a, Some(b"A"));
    proves(&store, &c1.root, 1, &b, Some(b"B"));
    // Deleting one collapses the chain: the other key is a leaf under the root again, and the root is
    // what a tree of the remaining keys has.
    let c2 = commit(&store, 2, BTreeMap::from([(a.clone(), None)]));
    assert_eq!(prove(&store, &b, 2).expect("proof").proof.levels.len(), 1);
    let state = BTreeMap::from([(b"other".to_vec(), b"x".to_vec()), (b.clone(), b"B".to_vec())]);
    assert_eq!(c2.root, fresh_root(&state));
    // The deleted key's path ends at the other key's leaf: that leaf proves it absent.
    let gone = prove(&store, &a, 2).expect("proof");
    assert!(matches!(gone.proof.end, ProofEnd::Leaf { key, .. } if key == key_hash(&b)));
    proves(&store, &c2.root, 2, &a, None);
    let c3 = commit(&store, 3, BTreeMap::from([(b.clone(), None)]));
    assert_eq!(c3.root, c0.root);
    // The older versions still prove what they held.
    proves(&store, &c1.root, 1, &a, Some(b"A"));
    proves(&store, &c2.root, 2, &b, Some(b"B"));
}
