//! What the deployment files promise without running anything: security settings, the
//! kustomization and skaffold covering every manifest, the Dockerfile's build and user, and the
//! ConfigMap's copy of the bundled scenario.

use std::collections::BTreeSet;

use serde_json::Value;

use super::kubelet::{image_entrypoint, manifest, repo, text};

fn read(path: &str) -> String {
    std::fs::read_to_string(repo().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn deployments() -> [Value; 2] {
    [manifest("master.yaml", &[]), manifest("worker.yaml", &[])]
}

#[test]
fn every_pod_runs_unprivileged_on_a_read_only_root() {
    let dockerfile = read("Dockerfile");
    let user = dockerfile
        .lines()
        .rfind(|l| l.starts_with("USER "))
        .expect("the Dockerfile sets USER")
        .trim_start_matches("USER ")
        .trim();
    for d in deployments() {
        let name = text(&d["metadata"]["name"], "name");
        let pod = &d["spec"]["template"]["spec"];
        assert_eq!(pod["securityContext"]["runAsNonRoot"], true, "{name}");
        let ids = format!(
            "{}:{}",
            pod["securityContext"]["runAsUser"], pod["securityContext"]["runAsGroup"]
        );
        assert_eq!(ids, user, "{name}: the image's USER and the pod's ids");
        assert_eq!(pod["automountServiceAccountToken"], false, "{name}");
        assert_eq!(
            pod["enableServiceLinks"], false,
            "{name}: CICADA_MASTER_PORT=tcp://..."
        );
        for c in pod["containers"].as_array().expect("containers") {
            let sc = &c["securityContext"];
            assert_eq!(sc["readOnlyRootFilesystem"], true, "{name}");
            assert_eq!(sc["allowPrivilegeEscalation"], false, "{name}");
            assert_eq!(sc["runAsNonRoot"], true, "{name}");
            assert_eq!(
                sc["capabilities"]["drop"],
                serde_json::json!(["ALL"]),
                "{name}"
            );
            assert!(c["resources"]["requests"].is_object(), "{name}: requests");
            assert!(
                c["resources"]["limits"]["memory"].is_string(),
                "{name}: memory limit"
            );
            // The role is explicit: never again a pod that does not know it is a worker.
            let role = text(
                &d["metadata"]["labels"]["app.kubernetes.io/component"],
                "role",
            );
            assert_eq!(c["args"][0], role, "{name}");
        }
    }
}

#[test]
fn kustomize_and_skaffold_deploy_every_manifest_with_the_built_image() {
    let dir = repo().join("deploy/k8s");
    let mut files = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).expect("deploy/k8s") {
        let name = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        if let Some(made) = name.strip_suffix(".template") {
            files.insert(made.to_owned());
        } else if name.ends_with(".yaml") && name != "kustomization.yaml" {
            files.insert(name);
        }
    }
    // Made from the templates by users (git-ignored), so a local copy may exist.
    let kustomization = manifest("kustomization.yaml", &[]);
    let listed: BTreeSet<String> = kustomization["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .map(|r| text(r, "resource").to_owned())
        .collect();
    assert_eq!(listed, files, "kustomization.yaml lists every manifest");
    assert_eq!(kustomization["namespace"], "load-testing");

    let skaffold: Value =
        serde_saphyr::from_str(&read("skaffold.yaml")).expect("skaffold.yaml is YAML");
    assert_eq!(
        skaffold["manifests"]["kustomize"]["paths"],
        serde_json::json!(["deploy/k8s"])
    );
    let artifacts = skaffold["build"]["artifacts"]
        .as_array()
        .expect("artifacts");
    assert_eq!(artifacts.len(), 1);
    assert_eq!(artifacts[0]["docker"]["dockerfile"], "Dockerfile");
    for d in deployments() {
        let image = &d["spec"]["template"]["spec"]["containers"][0]["image"];
        assert_eq!(
            *image, artifacts[0]["image"],
            "skaffold replaces the manifests' image"
        );
    }
}

#[test]
fn the_dockerfile_builds_what_ci_builds_and_runs_cicada() {
    let dockerfile = read("Dockerfile");
    // The one build command, with the committed lock file; CI's `cargo test --locked` and
    // `cargo clippy --locked` prove the same lock file and sources build.
    let builds: Vec<&str> = dockerfile
        .lines()
        .filter(|l| l.contains("cargo build"))
        .map(str::trim)
        .collect();
    assert_eq!(builds, ["cargo build --release --locked \\"], "{builds:?}");
    assert!(read(".ci/run").contains("--locked") && read("scripts/test").contains("--locked"));
    assert_eq!(image_entrypoint(), ["cicada"]);
    assert!(dockerfile.contains("COPY scenarios/ /etc/cicada/scenarios/"));
    let ignore = read(".dockerignore");
    assert!(
        ignore.lines().any(|l| l == "target"),
        "no build output in the context"
    );
}

#[test]
fn the_configmap_carries_the_bundled_scenario() {
    let cm = manifest("configmap.yaml.template", &[]);
    assert_eq!(
        text(&cm["data"]["scenario.yaml"], "scenario.yaml"),
        read("scenarios/dynaclaimz.yaml"),
        "the template's scenario.yaml is scenarios/dynaclaimz.yaml"
    );
    assert_eq!(
        text(&cm["data"]["dynaclaimz-users.csv"], "csv"),
        read("scenarios/dynaclaimz-users.csv")
    );
    assert_eq!(
        cm["data"]["CICADA_HOST"],
        "http://YOUR_API_GATEWAY_LOADBALANCER_URL"
    );
    assert_eq!(
        cm["data"]["CICADA_FILE"],
        "/etc/cicada/config/scenario.yaml"
    );
    let master = manifest("master.yaml", &[]);
    let mount = &master["spec"]["template"]["spec"]["containers"][0]["volumeMounts"][0];
    assert_eq!(mount["mountPath"], "/etc/cicada/config");
}
