//! The engine's instance pool, sized as Spin sizes it (`spin-core`'s `Config::default`:
//! `SPIN_MAX_INSTANCE_COUNT`, default 1,000, and the `SPIN_WASMTIME_*` variables), and
//! how many requests it can serve at once.
//!
//! Spin answers 500 when a request finds the pool full. The runner instead admits a
//! request only when the pool has room for its whole chain (the component it reaches
//! and every component that one may call through `*.spin.internal`), so a chained call
//! never waits for, or fails on, an instance its own caller holds; the others wait in
//! the admission queue (`admission.rs`).

use anyhow::{bail, Context, Result};
use std::collections::{BTreeMap, HashSet};
use wasmtime::{Config, InstanceAllocationStrategy, PoolingAllocationConfig};

const MB: u64 = 1 << 20;
const GB: usize = 1 << 30;

/// Spin's default for `SPIN_MAX_INSTANCE_COUNT`.
pub const DEFAULT_MAX_INSTANCES: u32 = 1_000;

/// Applies Spin's allocation rules to `config`: the pooling allocator unless
/// `SPIN_WASMTIME_POOLING=0`, with every total derived from `max_instances` (the
/// `--max-instances` flag, or `SPIN_MAX_INSTANCE_COUNT`) unless its own variable is set.
/// Spin also turns pooling off when a 42-bit address-space probe fails; the runner
/// leaves that to `SPIN_WASMTIME_POOLING=0`. Answers the pool's totals; without a pool
/// nothing is reserved, and `max_instances` still bounds how many instances run at once.
pub fn configure(
    config: &mut Config,
    max_instances: u32,
    env: &BTreeMap<String, String>,
) -> Result<PoolUse> {
    match env.get("SPIN_WASMTIME_POOLING").map(String::as_str) {
        None | Some("1") => {}
        Some("0") => {
            config.allocation_strategy(InstanceAllocationStrategy::OnDemand);
            return Ok(PoolUse {
                component_instances: u64::from(max_instances),
                ..PoolUse::default()
            });
        }
        Some(other) => bail!("SPIN_WASMTIME_POOLING={other} not supported, only 1/0 supported"),
    }
    let var = |name: &str, default: u64| -> Result<u64> {
        match env.get(name) {
            None => Ok(default),
            Some(value) => value
                .parse()
                .with_context(|| format!("failed to parse env var `{name}={value}`")),
        }
    };
    let count = |name: &str, default: u32| -> Result<u32> {
        u32::try_from(var(name, u64::from(default))?)
            .with_context(|| format!("env var `{name}` is too large"))
    };
    let size = |name: &str, default: u64| -> Result<usize> { Ok(var(name, default)? as usize) };
    let totals = PoolUse {
        component_instances: count("SPIN_WASMTIME_INSTANCE_COUNT", max_instances)?.into(),
        memories: count("SPIN_WASMTIME_TOTAL_MEMORIES", max_instances)?.into(),
        tables: count(
            "SPIN_WASMTIME_TOTAL_TABLES",
            max_instances.saturating_mul(2),
        )?
        .into(),
        stacks: count("SPIN_WASMTIME_TOTAL_STACKS", max_instances)?.into(),
        core_instances: count(
            "SPIN_WASMTIME_TOTAL_CORE_INSTANCES",
            max_instances.saturating_mul(4),
        )?
        .into(),
    };
    // Each total came from a u32 above.
    let total = |n: u64| n as u32;
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(total(totals.component_instances))
        .total_memories(total(totals.memories))
        .total_tables(total(totals.tables))
        .total_stacks(total(totals.stacks))
        .total_core_instances(total(totals.core_instances))
        .table_elements(size("SPIN_WASMTIME_INSTANCE_TABLE_ELEMENTS", 100_000)?)
        .max_component_instance_size(size("SPIN_WASMTIME_INSTANCE_SIZE", 10 * MB)?)
        .max_core_instance_size(size("SPIN_WASMTIME_CORE_INSTANCE_SIZE", 10 * MB)?)
        .max_core_instances_per_component(count("SPIN_WASMTIME_CORE_INSTANCE_COUNT", 200)?)
        .max_tables_per_component(count("SPIN_WASMTIME_INSTANCE_TABLES", 64)?)
        .max_memories_per_component(count("SPIN_WASMTIME_INSTANCE_MEMORIES", 32)?)
        .max_tables_per_module(count("SPIN_WASMTIME_MAX_TABLES_PER_MODULE", 2)?)
        .max_memories_per_module(count("SPIN_WASMTIME_MAX_MEMORIES_PER_MODULE", 2)?)
        // Per-store memory is capped by the store's limiter, as in Spin.
        .max_memory_size(4 * GB)
        .linear_memory_keep_resident(size("SPIN_WASMTIME_LINEAR_MEMORY_KEEP_RESIDENT", 2 * MB)?)
        .table_keep_resident(size("SPIN_WASMTIME_TABLE_KEEP_RESIDENT", MB / 2)?);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    Ok(totals)
}

/// What one instance of a component takes from the pool (measured by instantiating it
/// once at start), or what a whole chain takes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolUse {
    pub component_instances: u64,
    pub core_instances: u64,
    pub memories: u64,
    pub tables: u64,
    /// One async stack per store while it runs.
    pub stacks: u64,
}

impl PoolUse {
    fn plus(self, other: Self) -> Self {
        self.zip(other, |a, b| a + b)
    }

    fn max(self, other: Self) -> Self {
        self.zip(other, u64::max)
    }

    fn zip(self, other: Self, f: impl Fn(u64, u64) -> u64) -> Self {
        Self {
            component_instances: f(self.component_instances, other.component_instances),
            core_instances: f(self.core_instances, other.core_instances),
            memories: f(self.memories, other.memories),
            tables: f(self.tables, other.tables),
            stacks: f(self.stacks, other.stacks),
        }
    }

    /// How many times `self` fits in the pool of `totals`.
    fn fits_in(self, totals: Self) -> u64 {
        let fit = |need: u64, total: u64| total.checked_div(need).unwrap_or(u64::MAX);
        [
            fit(self.component_instances, totals.component_instances),
            fit(self.core_instances, totals.core_instances),
            fit(self.memories, totals.memories),
            fit(self.tables, totals.tables),
            fit(self.stacks, totals.stacks),
        ]
        .into_iter()
        .min()
        .unwrap_or(0)
    }
}

/// What each component's whole chain needs: itself plus the most demanding component
/// it may call (one chained call at a time, as edgesafe's components make them), and
/// so on down. A component met again on the same path adds nothing (a cycle cannot be
/// bounded); `cyclic` is then set so the start can say so.
pub struct Chains {
    pub need: BTreeMap<String, PoolUse>,
    pub cyclic: bool,
}

pub fn chains(own: &BTreeMap<String, PoolUse>, calls: &BTreeMap<String, Vec<String>>) -> Chains {
    fn walk(
        id: &str,
        own: &BTreeMap<String, PoolUse>,
        calls: &BTreeMap<String, Vec<String>>,
        path: &mut HashSet<String>,
        cyclic: &mut bool,
    ) -> PoolUse {
        if !path.insert(id.to_string()) {
            *cyclic = true;
            return PoolUse::default();
        }
        let deepest = calls
            .get(id)
            .into_iter()
            .flatten()
            .map(|callee| walk(callee, own, calls, path, cyclic))
            .fold(PoolUse::default(), PoolUse::max);
        path.remove(id);
        own.get(id).copied().unwrap_or_default().plus(deepest)
    }
    let mut cyclic = false;
    let need = own
        .keys()
        .map(|id| {
            let need = walk(id, own, calls, &mut HashSet::new(), &mut cyclic);
            (id.clone(), need)
        })
        .collect();
    Chains { need, cyclic }
}

/// How many requests to `entries` may run at once: the pool divided by the most
/// demanding chain among them.
pub fn capacity(totals: PoolUse, chains: &Chains, entries: &[String]) -> Result<usize> {
    let worst = entries
        .iter()
        .filter_map(|id| chains.need.get(id))
        .copied()
        .fold(PoolUse::default(), PoolUse::max);
    let fits = worst.fits_in(totals);
    if fits == 0 {
        bail!(
            "the instance pool cannot hold one request's chain of components ({worst:?} \
             needed, {totals:?} available); raise SPIN_MAX_INSTANCE_COUNT"
        );
    }
    Ok(usize::try_from(fits).unwrap_or(usize::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(memories: u64, core_instances: u64) -> PoolUse {
        PoolUse {
            component_instances: 1,
            core_instances,
            memories,
            tables: 1,
            stacks: 1,
        }
    }

    fn calls(edges: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        edges
            .iter()
            .map(|(from, to)| (from.to_string(), to.iter().map(|t| t.to_string()).collect()))
            .collect()
    }

    #[test]
    fn a_chain_needs_its_deepest_path() {
        let own: BTreeMap<_, _> = [
            ("gateway".to_string(), one(2, 10)),
            ("folders".to_string(), one(2, 10)),
            ("secrets".to_string(), one(3, 12)),
            ("identity".to_string(), one(2, 10)),
        ]
        .into();
        let graph = calls(&[
            ("gateway", &["identity", "folders", "secrets"]),
            ("folders", &["secrets"]),
        ]);
        let chains = chains(&own, &graph);
        assert!(!chains.cyclic);
        assert_eq!(
            chains.need["gateway"],
            PoolUse {
                component_instances: 3,
                core_instances: 32,
                memories: 7,
                tables: 3,
                stacks: 3,
            }
        );
        assert_eq!(chains.need["identity"], one(2, 10));
        // Spin's defaults (1,000 instances and memories, 4,000 core instances): core
        // instances run out first, at 4000 / 32 whole chains (memories at 1000 / 7).
        let totals = PoolUse {
            component_instances: 1000,
            core_instances: 4000,
            memories: 1000,
            tables: 2000,
            stacks: 1000,
        };
        assert_eq!(capacity(totals, &chains, &["gateway".into()]).unwrap(), 125);
    }

    #[test]
    fn a_cycle_is_cut_and_reported() {
        let own: BTreeMap<_, _> =
            [("a".to_string(), one(1, 1)), ("b".to_string(), one(1, 1))].into();
        let chains = chains(&own, &calls(&[("a", &["b"]), ("b", &["a"])]));
        assert!(chains.cyclic);
        assert_eq!(chains.need["a"].component_instances, 2);
    }

    #[test]
    fn a_pool_too_small_for_one_chain_refuses_to_start() {
        let own: BTreeMap<_, _> = [("a".to_string(), one(4, 1))].into();
        let chains = chains(&own, &BTreeMap::new());
        let totals = PoolUse {
            component_instances: 10,
            core_instances: 10,
            memories: 3,
            tables: 10,
            stacks: 10,
        };
        let err = capacity(totals, &chains, &["a".into()]).unwrap_err();
        assert!(err.to_string().contains("SPIN_MAX_INSTANCE_COUNT"), "{err}");
    }

    #[test]
    fn spin_variables_override_the_pool() {
        let env: BTreeMap<String, String> =
            [("SPIN_WASMTIME_TOTAL_MEMORIES".to_string(), "77".to_string())].into();
        let mut config = Config::new();
        let totals = configure(&mut config, 50, &env).unwrap();
        wasmtime::Engine::new(&config).expect("an engine with that pool");
        assert_eq!(totals.component_instances, 50);
        assert_eq!(totals.memories, 77);
        assert_eq!(totals.tables, 100);
        assert_eq!(totals.core_instances, 200);

        let bad: BTreeMap<String, String> =
            [("SPIN_WASMTIME_TOTAL_TABLES".to_string(), "many".to_string())].into();
        let err = configure(&mut Config::new(), 50, &bad).unwrap_err();
        assert!(format!("{err:#}").contains("SPIN_WASMTIME_TOTAL_TABLES"));
    }
}
