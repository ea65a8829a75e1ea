//! A small, strict stand-in for the kubelet: turns a Deployment's container into the process
//! Kubernetes would start, so the manifests under `deploy/k8s` can run here as written.
//!
//! What it does as Kubernetes does:
//! - the program: the container's `command`, else the image's `ENTRYPOINT` (read from the
//!   `Dockerfile`); `args` replace the image's `CMD`;
//! - the environment, in Kubernetes' order: the Docker-link variables of the namespace's
//!   Services unless `enableServiceLinks: false`, then `env` in order, `$(VAR)` expanded against
//!   what came before, `valueFrom` resolved from the ConfigMaps and Secrets given (a missing
//!   key fails unless `optional: true`; a missing optional key leaves the variable unset) and
//!   the downward API (`metadata.name`, `metadata.namespace`);
//! - `$(VAR)` in `command` and `args` expanded against the whole environment (`$$` is a
//!   literal `$`, an unknown `$(VAR)` stays as written);
//! - ConfigMap volumes: every key (or the listed `items`) becomes a file of a directory.
//!
//! What it substitutes, and nothing else:
//! - the values of named `env` entries (the bind addresses and ports: one machine runs every
//!   pod, so they cannot all listen on 0.0.0.0:8089), given by the caller; each must exist in
//!   the manifest as a literal `value`;
//! - paths: a value or argument under a volume's `mountPath` points into the directory that
//!   holds that volume's files.
//!
//! A container field it does not know fails the test (for example `envFrom`, `lifecycle`), so
//! a manifest can never quietly do something this emulation ignores.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// Container fields that shape the process and are emulated, or that do not change what the
/// process does (ports, probes, resources, security settings: checked elsewhere).
const KNOWN_CONTAINER_FIELDS: &[&str] = &[
    "name",
    "image",
    "imagePullPolicy",
    "command",
    "args",
    "env",
    "ports",
    "volumeMounts",
    "readinessProbe",
    "livenessProbe",
    "resources",
    "securityContext",
];

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A file of `deploy/k8s` as JSON, after replacing `from` with `to` in its text.
pub fn manifest(name: &str, replace: &[(&str, &str)]) -> Value {
    let path = repo().join("deploy/k8s").join(name);
    let mut text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{} is readable: {e}", path.display()));
    for (from, to) in replace {
        assert!(text.contains(from), "{name} contains {from}");
        text = text.replace(from, to);
    }
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{name} is YAML: {e}"))
}

/// A string field, or a failed test naming it.
pub fn text<'a>(v: &'a Value, what: &str) -> &'a str {
    v.as_str()
        .unwrap_or_else(|| panic!("{what} is a string: {v}"))
}

/// The image's `ENTRYPOINT` (exec form) from the Dockerfile.
pub fn image_entrypoint() -> Vec<String> {
    let dockerfile = std::fs::read_to_string(repo().join("Dockerfile")).expect("Dockerfile");
    let line = dockerfile
        .lines()
        .rfind(|l| l.starts_with("ENTRYPOINT "))
        .expect("the Dockerfile has an ENTRYPOINT");
    serde_json::from_str(line.trim_start_matches("ENTRYPOINT ").trim())
        .expect("ENTRYPOINT in exec form (a JSON array)")
}

/// The ConfigMaps, Secrets and Services the pods may refer to (one namespace).
#[derive(Default)]
pub struct Cluster {
    pub config_maps: BTreeMap<String, BTreeMap<String, String>>,
    pub secrets: BTreeMap<String, BTreeMap<String, String>>,
    pub services: Vec<Value>,
}

impl Cluster {
    /// Adds a ConfigMap (`data`) or a Secret (`stringData`) or a Service.
    pub fn add(&mut self, object: Value) {
        let name = text(&object["metadata"]["name"], "metadata.name").to_owned();
        let strings = |field: &Value| -> BTreeMap<String, String> {
            field
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), text(v, k).to_owned()))
                        .collect()
                })
                .unwrap_or_default()
        };
        match text(&object["kind"], "kind") {
            "ConfigMap" => {
                self.config_maps.insert(name, strings(&object["data"]));
            }
            "Secret" => {
                assert!(
                    object.get("data").is_none(),
                    "the emulation reads stringData only"
                );
                self.secrets.insert(name, strings(&object["stringData"]));
            }
            "Service" => self.services.push(object),
            other => panic!("no emulation for kind {other}"),
        }
    }

    /// Docker-link variables of every Service, as the kubelet injects them.
    fn service_links(&self) -> Vec<(String, String)> {
        let mut vars = Vec::new();
        for (i, svc) in self.services.iter().enumerate() {
            let prefix = text(&svc["metadata"]["name"], "service name")
                .to_ascii_uppercase()
                .replace('-', "_");
            let ip = format!("10.96.0.{}", 10 + i);
            let ports = svc["spec"]["ports"].as_array().cloned().unwrap_or_default();
            if let Some(first) = ports.first() {
                vars.push((format!("{prefix}_SERVICE_HOST"), ip.clone()));
                vars.push((format!("{prefix}_SERVICE_PORT"), first["port"].to_string()));
                vars.push((
                    format!("{prefix}_PORT"),
                    format!("tcp://{ip}:{}", first["port"]),
                ));
            }
            for p in &ports {
                let base = format!("{prefix}_PORT_{}_TCP", p["port"]);
                vars.push((base.clone(), format!("tcp://{ip}:{}", p["port"])));
                vars.push((format!("{base}_PORT"), p["port"].to_string()));
                vars.push((format!("{base}_ADDR"), ip.clone()));
            }
        }
        vars
    }

    fn lookup(
        &self,
        source: &Value,
        maps: &BTreeMap<String, BTreeMap<String, String>>,
    ) -> Option<String> {
        let name = text(&source["name"], "name");
        let key = text(&source["key"], "key");
        let optional = source["optional"].as_bool().unwrap_or(false);
        match maps.get(name).and_then(|m| m.get(key)) {
            Some(v) => Some(v.clone()),
            None if optional => None,
            None => panic!("the pod would not start: {name}/{key} is missing and not optional"),
        }
    }
}

/// Expands `$(VAR)` as Kubernetes does.
pub fn expand(input: &str, vars: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(inner) = after.strip_prefix('(')
            && let Some(end) = inner.find(')')
            && let Some(value) = vars.get(&inner[..end])
        {
            out.push_str(value);
            rest = &inner[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// The process a pod of a Deployment runs.
#[derive(Debug)]
pub struct Process {
    /// argv, starting with the program (`cicada` is the binary under test).
    pub argv: Vec<String>,
    /// The whole environment (nothing is inherited).
    pub env: Vec<(String, String)>,
}

/// Resolves the single container of `deployment` for the pod `pod_name`. `network` replaces the
/// literal values of the named `env` entries; volumes are written under `volumes`.
pub fn resolve(
    deployment: &Value,
    pod_name: &str,
    cluster: &Cluster,
    network: &[(&str, String)],
    volumes: &Path,
) -> Process {
    let pod = &deployment["spec"]["template"]["spec"];
    let containers = pod["containers"].as_array().expect("containers");
    assert_eq!(containers.len(), 1, "one container per pod");
    let c = &containers[0];
    for field in c.as_object().expect("a container").keys() {
        assert!(
            KNOWN_CONTAINER_FIELDS.contains(&field.as_str()),
            "tests/e2e/k8s does not emulate the container field `{field}`: teach it"
        );
    }
    let namespace = text(&deployment["metadata"]["namespace"], "namespace");

    // Mounts: mountPath -> a directory with the volume's files.
    let mut mounts: Vec<(String, PathBuf)> = Vec::new();
    for m in c["volumeMounts"].as_array().into_iter().flatten() {
        let name = text(&m["name"], "volumeMounts.name");
        let volume = pod["volumes"]
            .as_array()
            .and_then(|vs| vs.iter().find(|v| v["name"] == name))
            .unwrap_or_else(|| panic!("volume {name} is declared"));
        let dir = volumes.join(format!("{pod_name}-{name}"));
        std::fs::create_dir_all(&dir).expect("volume directory");
        let cm = &volume["configMap"];
        assert!(
            cm.is_object(),
            "the emulation mounts ConfigMap volumes only"
        );
        let data = &cluster.config_maps[text(&cm["name"], "configMap.name")];
        let items: Vec<(String, String)> = match cm["items"].as_array() {
            Some(items) => items
                .iter()
                .map(|i| {
                    (
                        text(&i["key"], "key").to_owned(),
                        text(&i["path"], "path").to_owned(),
                    )
                })
                .collect(),
            None => data.keys().map(|k| (k.clone(), k.clone())).collect(),
        };
        for (key, path) in items {
            std::fs::write(dir.join(path), &data[&key]).expect("volume file");
        }
        mounts.push((text(&m["mountPath"], "mountPath").to_owned(), dir));
    }
    let remap = |value: String| -> String {
        for (mount, dir) in &mounts {
            if let Some(rest) = value.strip_prefix(mount.as_str())
                && (rest.is_empty() || rest.starts_with('/'))
            {
                return format!("{}{rest}", dir.display());
            }
        }
        value
    };

    // The environment, in the kubelet's order.
    let mut vars: BTreeMap<String, String> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut set = |vars: &mut BTreeMap<String, String>, name: String, value: String| {
        if !vars.contains_key(&name) {
            order.push(name.clone());
        }
        vars.insert(name, value);
    };
    if pod["enableServiceLinks"].as_bool() != Some(false) {
        for (k, v) in cluster.service_links() {
            set(&mut vars, k, v);
        }
    }
    let mut substituted = Vec::new();
    for e in c["env"].as_array().into_iter().flatten() {
        let name = text(&e["name"], "env.name").to_owned();
        let value = if let Some(literal) = e.get("value") {
            match network.iter().find(|(n, _)| *n == name) {
                Some((_, replacement)) => {
                    substituted.push(name.clone());
                    Some(replacement.clone())
                }
                None => Some(expand(text(literal, &name), &vars)),
            }
        } else {
            let from = &e["valueFrom"];
            if from.get("configMapKeyRef").is_some() {
                cluster.lookup(&from["configMapKeyRef"], &cluster.config_maps)
            } else if from.get("secretKeyRef").is_some() {
                cluster.lookup(&from["secretKeyRef"], &cluster.secrets)
            } else if from.get("fieldRef").is_some() {
                match text(&from["fieldRef"]["fieldPath"], "fieldPath") {
                    "metadata.name" => Some(pod_name.to_owned()),
                    "metadata.namespace" => Some(namespace.to_owned()),
                    other => panic!("no emulation for fieldRef {other}"),
                }
            } else {
                panic!("no emulation for the valueFrom of {name}: {from}")
            }
        };
        if let Some(value) = value {
            set(&mut vars, name, remap(value));
        }
    }
    for (name, _) in network {
        assert!(
            substituted.iter().any(|s| s == name),
            "{name} is a literal env value of the manifest (the test substitutes it)"
        );
    }

    let words = |field: &Value| -> Vec<String> {
        field
            .as_array()
            .into_iter()
            .flatten()
            .map(|w| remap(expand(text(w, "argument"), &vars)))
            .collect()
    };
    let mut argv = match c.get("command") {
        Some(command) => words(command),
        None => image_entrypoint(),
    };
    argv.extend(words(&c["args"]));
    let env = order
        .into_iter()
        .map(|k| {
            let v = vars[&k].clone();
            (k, v)
        })
        .collect();
    Process { argv, env }
}

#[test]
fn dollar_references_expand_as_in_kubernetes() {
    let vars: BTreeMap<String, String> = [("POD_NAME".to_owned(), "w-1".to_owned())].into();
    assert_eq!(expand("--worker-id=$(POD_NAME)", &vars), "--worker-id=w-1");
    assert_eq!(expand("$$(POD_NAME)", &vars), "$(POD_NAME)");
    assert_eq!(expand("$(UNKNOWN) $", &vars), "$(UNKNOWN) $");
    assert_eq!(expand("a$(POD_NAME", &vars), "a$(POD_NAME");
}
