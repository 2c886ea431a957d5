"""``recouvrement run``: the whole system on one machine, each service in its own process."""

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from services.runtime.broker_replaced import BROKER_REPLACED
from services.runtime.serving import reuse_port_socket
from services.runtime.settings import DEFAULT_DATA_DIR
from services.runtime.tokens import generate_keypair
from services.stack.embedded import EmbeddedBroker, EmbeddedPostgres, die_with_parent
from services.stack.forking import Preloader, Process, fork
from services.stack.logs import LogRotation
from services.stack.mail_sink import MailSink
from services.stack.provisioning import SERVICES_WITH_DATABASE, create_databases, database_url, provision_topics
from services.stack.settings import (
    EVENTS_SUFFIX,
    PARTNER_PORTS,
    SERVICE_PORTS,
    LauncherSettings,
    check_replica_names,
    consumes_only,
    process_ports,
    service_of,
)

API_SERVICES = ("auth", "debt", "simulation", "requests", "debits", "notifications")
RESTART_BACKOFF_MAX_S = 30.0
STABLE_AFTER_S = 60.0
DEFAULT_LOG_ROTATION = LogRotation(max_bytes=20 * 1024 * 1024, keep=3)
"""a child that lived this long before it died is restarted at once, its backoff forgotten"""


@dataclass
class Child:
    """What the supervisor knows of one child: when it started, how often it died young, and when
    its next restart is due (None while it runs)."""

    started_at: float = field(default_factory=time.monotonic)
    quick_deaths: int = 0
    restart_due: float | None = None

    def died(self, now: float) -> float:
        """Schedules the restart: at once after a long life, then 1, 2, 4… s up to the cap."""
        if now - self.started_at >= STABLE_AFTER_S:
            self.quick_deaths = 0
        delay = 0.0 if self.quick_deaths == 0 else min(2.0 ** (self.quick_deaths - 1), RESTART_BACKOFF_MAX_S)
        self.quick_deaths += 1
        self.restart_due = now + delay
        return delay

    def restarted(self, now: float) -> None:
        self.started_at, self.restart_due = now, None


@dataclass
class StackConfig:
    data_dir: Path = DEFAULT_DATA_DIR
    pg_port: int = 15432
    kafka_port: int = 19092
    mail_port: int = 8025
    ports: dict[str, int] = field(default_factory=lambda: dict(SERVICE_PORTS) | PARTNER_PORTS)
    """every process, and the port on which it answers alone (``settings.process_ports``)"""
    external_database_url: str | None = None
    external_kafka: str | None = None
    seed_demo: bool = True
    demo_affiliates: int = 20
    demo_seed: int = 2024
    otlp_endpoint: str | None = None
    logs: LogRotation = DEFAULT_LOG_ROTATION
    split: tuple[str, ...] = ()
    """services run as an HTTP process and a ``<service>-events`` process (``RECOUVREMENT_EVENTS_PROCESSES``)"""
    shared: dict[str, int] = field(default_factory=dict)
    """the port of each replicated service (``RECOUVREMENT_<SERVICE>_REPLICAS``), on which all its
    replicas listen"""

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "StackConfig":
        """From the environment (``LauncherSettings``), or from ``env`` alone when given."""
        check_replica_names(os.environ if env is None else env)
        settings = LauncherSettings() if env is None else LauncherSettings.model_validate(env)
        split = settings.split_services()
        ports, shared = process_ports(settings.ports(), split, settings.replicas())
        return cls(
            data_dir=settings.data_dir.resolve(),
            pg_port=settings.pg_port,
            kafka_port=settings.kafka_port,
            mail_port=settings.mail_port,
            ports=ports,
            split=split,
            shared=shared,
            external_database_url=settings.database_url,
            external_kafka=settings.kafka_bootstrap_servers,
            seed_demo=settings.seed_demo,
            demo_affiliates=settings.demo_affiliates,
            demo_seed=settings.demo_seed,
            otlp_endpoint=settings.otlp_endpoint,
            logs=LogRotation(int(settings.log_max_megabytes * 1024 * 1024), settings.log_keep),
        )

    def __post_init__(self) -> None:
        """Two processes told the same port: the second dies on bind while the first answers its
        health checks, and the stack looks ready without it. Refused before anything starts."""
        owners = dict(self.ports) | {f"{name} (port partagé)": port for name, port in self.shared.items()}
        if self.external_database_url is None:
            owners["postgres"] = self.pg_port
        if self.external_kafka is None:
            owners["kafka"] = self.kafka_port
        if "notifications" in self.ports:
            owners["mail"] = self.mail_port
        seen: dict[int, str] = {}
        for name, port in owners.items():
            if port in seen:
                raise ValueError(f"le port {port} est donné à la fois à {seen[port]} et à {name}")
            seen[port] = name

    def traffic_port(self, service: str) -> int:
        """where a service is called: the port its replicas share, or its one process's"""
        return self.shared.get(service, self.ports[service])

    @property
    def mail_dir(self) -> Path:
        """where the mail sink keeps what notifications send (one .eml per mail)"""
        return self.data_dir / "mail"

    @property
    def sms_file(self) -> Path:
        """where notifications writes the SMS it sends (one JSON line each)"""
        return self.data_dir / "sms" / "sms.jsonl"

    @property
    def private_key(self) -> Path:
        return self.data_dir / "keys" / "token-signing.pem"

    @property
    def public_key(self) -> Path:
        return self.data_dir / "keys" / "token-signing.pub.pem"

    @property
    def quote_private_key(self) -> Path:
        return self.data_dir / "keys" / "quote-signing.pem"

    @property
    def quote_public_key(self) -> Path:
        return self.data_dir / "keys" / "quote-signing.pub.pem"


class Stack:
    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.postgres: EmbeddedPostgres | None = None
        self.broker: EmbeddedBroker | None = None
        self.mail: MailSink | None = None
        self.processes: dict[str, Process] = {}
        self.children: dict[str, Child] = {}
        """the supervised: every service, every partner, and ``broker`` when it is embedded"""
        self.restarts: dict[str, int] = {}
        self.reserved: dict[str, socket.socket] = {}
        """the replicas' shared ports, bound (not listening) by the launcher for the stack's life: no
        process outside the group can take one while a replica restarts"""
        self.database_server_url = config.external_database_url or ""
        self.bootstrap = config.external_kafka or ""

    def start(self, say: "Say", meanwhile: Callable[[], object] | None = None) -> None:
        """``meanwhile``: called once every process is spawned, before waiting for them to be ready
        (work of the launcher's own that needs neither, done while they start)."""
        c = self.config
        started = time.monotonic()
        preloader = Preloader()  # the processes' common imports, while Postgres and the broker start
        (c.data_dir / "logs").mkdir(parents=True, exist_ok=True)
        if not c.private_key.exists():
            generate_keypair(c.private_key, c.public_key)
            say("clés de signature de développement générées (jamais en production)")
        if not c.quote_private_key.exists():
            generate_keypair(c.quote_private_key, c.quote_public_key)
        if c.external_database_url is None:
            self.postgres = EmbeddedPostgres(c.data_dir / "postgres", c.pg_port)
            self.postgres.start()
            self.database_server_url = self.postgres.url
            say(f"postgres embarqué prêt sur 127.0.0.1:{c.pg_port} (données : {self.postgres.data_dir})")
        if c.external_kafka is None:
            self.broker = EmbeddedBroker(c.kafka_port, c.data_dir / "logs" / "broker.log")
            self.broker.start()
            self.bootstrap = self.broker.bootstrap
            say(f"broker Kafka embarqué (Tansu, en mémoire) prêt sur {self.bootstrap}")
        asyncio.run(self._provision())
        for service, port in c.shared.items():  # a port already taken stops the start here
            self.reserved[service] = reuse_port_socket("127.0.0.1", port, reuse_address=False)
        preloader.done()
        for name in self.config.ports:  # forked while the launcher has one thread (``forking``)
            self.processes[name] = self._spawn(name, self._command(name))
            self.children[name] = Child()
        if self.broker is not None:
            self.children["broker"] = Child()
        if "notifications" in c.ports:  # the relay its mails go to (a stack without it needs none)
            self.mail = MailSink(c.mail_port, c.mail_dir)
            self.mail.start()
            say(f"relais de courrier de développement (SMTP) sur 127.0.0.1:{c.mail_port} : les mails dans {c.mail_dir}")
        if meanwhile is not None:
            meanwhile()
        self._wait_ready()
        say(f"services prêts en {time.monotonic() - started:.1f} s")

    @staticmethod
    def _command(name: str) -> list[str]:
        return [name, "serve"] if name in PARTNER_PORTS else ["serve", service_of(name)]

    def supervise(self, say: "Say", now: float | None = None) -> list[str]:
        """One pass of the supervisor: a child found dead is restarted, with backoff; returns the
        names restarted in this pass. The broker comes back empty (memory only): its topics are
        provisioned again, and each service, finding its mark gone, replays its outbox's log
        (``services/runtime/epochs.py``). Postgres is not supervised: it keeps its data on disk and
        is not expected to crash; the services wait for it (readiness) if it does."""
        now = time.monotonic() if now is None else now  # tests move it instead of sleeping
        restarted: list[str] = []
        self.config.logs.rotate_all(self.log_files())
        for name, child in self.children.items():
            if child.restart_due is None:
                code = self._exit_code(name)
                if code is None:
                    continue
                delay = child.died(now)
                say(f"{name} s'est arrêté (code {code}) ; redémarrage dans {delay:.0f} s")
            if child.restart_due is not None and now >= child.restart_due:
                self._restart(name, say)
                child.restarted(now)
                self.restarts[name] = self.restarts.get(name, 0) + 1
                say(f"{name} redémarré (redémarrages depuis le lancement : {self.restarts[name]})")
                restarted.append(name)
        return restarted

    def log_files(self) -> list[Path]:
        """Every log the stack writes: its children's, and the embedded Postgres' (kept bounded by
        ``supervise``, each pass)."""
        files = sorted((self.config.data_dir / "logs").glob("*.log"))
        if self.postgres is not None:
            files.append(self.postgres.log_file)
        return files

    def _exit_code(self, name: str) -> int | None:
        if name == "broker":
            assert self.broker is not None and self.broker.process is not None
            return self.broker.process.poll()
        return self.processes[name].poll()

    def _restart(self, name: str, say: "Say") -> None:
        if name == "broker":
            assert self.broker is not None
            self.broker.start()
            # Clients reconnect before this ends, and Tansu makes (4 partitions) a topic one of them
            # names: remade here, and what a relay sent to it meanwhile is replayed (``epochs``).
            outcome = asyncio.run(provision_topics(self.bootstrap, remake_misshapen=True))
            remade = sorted(topic for topic, state in outcome.items() if state == "remade")
            if remade:
                say(f"topics créés par un client avant leur provisionnement, refaits : {', '.join(remade)}")
            self.tell_broker_replaced()
        else:
            self.processes[name] = self._spawn(name, self._command(name))

    def tell_broker_replaced(self) -> None:
        """Each service's relay looks for its mark now, finds it gone and replays its log, rather than
        within ``BROKER_CHECK_INTERVAL_SECONDS`` (30 s), and every process's consumers learn the topics
        again (a remade topic's new partitions). Every child is told: those that do not listen (the
        portal, a process still starting) ignore it (``_child_setup``)."""
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(BROKER_REPLACED)

    async def _provision(self) -> None:
        await create_databases(self.database_server_url)
        await provision_topics(self.bootstrap)

    def service_env(self, name: str) -> dict[str, str]:
        c = self.config
        if consumes_only(name):  # the service's second process: its consumers, on a port of its own
            env = self.service_env(service_of(name)) | {"HTTP_PORT": str(c.ports[name]), "CONSUME_EVENTS": "true"}
            env.pop("HTTP_SHARED_PORT", None)  # and none of its HTTP traffic
            return env
        if name != service_of(name):  # another replica: the service's settings, its own port
            return self.service_env(service_of(name)) | {"HTTP_PORT": str(c.ports[name])}
        env = dict(os.environ)
        env |= {"KAFKA_BOOTSTRAP_SERVERS": self.bootstrap, "PYTHONUNBUFFERED": "1"}
        if c.otlp_endpoint:
            env["OTEL_EXPORTER_OTLP_ENDPOINT"] = c.otlp_endpoint
        if name in PARTNER_PORTS:
            env[f"{name.upper()}_HTTP_PORT"] = str(c.ports[name])
            env.pop("DATABASE_URL", None)
            return env
        env |= {
            "DATABASE_URL": database_url(self.database_server_url, name),
            "HTTP_PORT": str(c.ports[name]),
            "TOKEN_PUBLIC_KEY_FILE": str(c.public_key),
        }
        if name in c.split:
            env["CONSUME_EVENTS"] = "false"
        if name in c.shared:
            env["HTTP_SHARED_PORT"] = str(c.shared[name])
        if name == "auth":
            env["TOKEN_PRIVATE_KEY_FILE"] = str(c.private_key)
            # the portal runs beside it: its X-Forwarded-For names the user's address
            env.setdefault("TRUSTED_PROXIES", "127.0.0.1")
        if name == "notifications":
            env |= {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(c.mail_port), "SMS_PROVIDER": "file"}
            env["SMS_FILE"] = str(c.sms_file)
        if name == "simulation":
            env["QUOTE_SIGNING_KEY_FILE"] = str(c.quote_private_key)
        if name == "requests":
            env["QUOTE_PUBLIC_KEY_FILES"] = str(c.quote_public_key)
        if name == "portal":
            env |= {f"{api.upper()}_URL": f"http://127.0.0.1:{c.traffic_port(api)}" for api in API_SERVICES}
            env["COOKIE_SECURE"] = "false"  # plain http on 127.0.0.1: a Secure cookie would never come back
            return env
        if self.broker is not None:  # the memory-only broker forgot every state topic: announce again
            env |= {
                "REPUBLISH_POSITIONS_ON_START": "true",
                "REPUBLISH_AFFILIATES_ON_START": "true",
                "REPUBLISH_ACCOUNTS_ON_START": "true",
            }
        return env

    def _spawn(self, name: str, command: list[str]) -> Process:
        env = self.service_env(name)
        self._write_down(name, env)
        log_path = self.config.data_dir / "logs" / f"{name}.log"
        forked = fork("services.cli", command, env, log_path, _child_setup)
        if forked is not None:
            return forked
        with log_path.open("ab") as log_file:  # another thread runs (a restart, the mail relay): a new interpreter
            return subprocess.Popen(
                [sys.executable, "-m", "services.cli", *command],
                env=env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_child_setup,  # noqa: PLW1509 (it only calls prctl and sets a signal's disposition)
            )

    def _wait_ready(self, timeout: float = 90) -> None:
        import httpx  # here, once the services are spawned: 0.35 s of import off the start's serial path

        deadline = time.monotonic() + timeout
        pending = dict(self.config.ports)
        with httpx.Client(timeout=2) as client:
            while pending:
                for name, port in list(pending.items()):
                    if self.processes[name].poll() is not None:
                        raise RuntimeError(
                            f"le service {name} s'est arrêté ; voir {self.config.data_dir}/logs/{name}.log"
                        )
                    try:
                        response = client.get(f"http://127.0.0.1:{port}/health/ready")
                    except httpx.HTTPError:
                        continue
                    if response.status_code == 200:
                        answered = response.json().get("service")
                        if answered != service_of(name):  # our process could not bind: another one holds its port
                            raise RuntimeError(f"le port {port} de {name} est tenu par un autre processus ({answered})")
                        del pending[name]
                if time.monotonic() > deadline:
                    raise TimeoutError(f"services pas prêts après {timeout} s : {sorted(pending)}")
                time.sleep(0.1)

    def _write_down(self, name: str, env: dict[str, str]) -> None:
        """``<data dir>/run/<name>.env``: what the launcher gives the process beyond its own
        environment (its database, ports, keys' files...), readable by the launcher's user only. A
        forked process's ``/proc/<pid>/environ`` shows the launcher's environment, not these."""
        folder = self.config.data_dir / "run"
        folder.mkdir(mode=0o700, exist_ok=True)
        given = "".join(f"{key}={value}\n" for key, value in sorted(env.items()) if os.environ.get(key) != value)
        file = folder / f"{name}.env"
        file.touch(mode=0o600)
        file.write_text(given)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
        if self.broker is not None:
            self.broker.stop()
        if self.mail is not None:
            self.mail.stop()
        for reserved in self.reserved.values():
            reserved.close()
        if self.postgres is not None:
            self.postgres.stop()


class Say:
    def __call__(self, message: str) -> None:
        print(f"[recouvrement] {message}", flush=True)


def service_urls(config: StackConfig) -> dict[str, str]:
    """where each service, portal and partner is called (a replicated service: its shared port)"""
    names = dict.fromkeys(service_of(name) for name in config.ports)
    return {name: f"http://127.0.0.1:{config.traffic_port(name)}" for name in names}


def listing(config: StackConfig) -> list[str]:
    """What ``recouvrement run`` prints once ready: where to call each service, and what each of
    its processes is when it has several."""
    urls = service_urls(config)
    lines = [f"  {'PORTAIL':<13} {urls.pop('portal')}   (ouvrez-le dans un navigateur)"]
    for name, url in urls.items():
        if name in config.split:
            lines.append(f"  {name:<13} {url}   (OpenAPI : {url}/docs ; HTTP seul, ses topics : {name}{EVENTS_SUFFIX})")
        else:
            lines.append(f"  {name:<13} {url}   (OpenAPI : {url}/docs)")
    for name, port in config.ports.items():  # the processes behind a service, when it has several
        if consumes_only(name):
            role = f"consomme les topics de {service_of(name)}"
        elif service_of(name) in config.shared:
            role = "une réplique ; sa santé, ses métriques"
        else:
            continue
        lines.append(f"    {name:<19} http://127.0.0.1:{port}   ({role})")
    return lines


def _child_setup() -> None:
    """In the child, before exec: it dies with the launcher, and ignores ``BROKER_REPLACED`` until its
    platform listens for it (the default action would kill a service still starting; an ignored
    signal stays ignored across exec). The portal never listens: it stays ignored."""
    die_with_parent()
    signal.signal(BROKER_REPLACED, signal.SIG_IGN)


__all__ = [
    "PARTNER_PORTS",
    "SERVICES_WITH_DATABASE",
    "SERVICE_PORTS",
    "Say",
    "Stack",
    "StackConfig",
    "listing",
    "service_of",
    "service_urls",
]
