"""Seed data for each organisation: repositories with files, sets, environments.

Ids are uuid5 values derived from the organisation and object names, so they are
the same in every run and differ between organisations.
"""

import uuid
from dataclasses import dataclass, field

_NAMESPACE = uuid.UUID("6f1c9a52-3d0e-4b7a-9c41-2e5d8f7a0b13")
_OWNER = "__OWNER__"


def stable_id(*parts: str) -> str:
    """Derive a deterministic UUID string from name parts."""
    return str(uuid.uuid5(_NAMESPACE, "/".join(parts)))


@dataclass(frozen=True)
class StartHook:
    """A start hook of one repository: its commands and what they print."""

    commands: tuple[str, ...]
    output: str
    exit_code: int = 0


@dataclass(frozen=True)
class RepositorySeed:
    """A connected repository and the files on its default branch."""

    id: str
    name: str
    url: str
    default_branch: str
    files: dict[str, str]
    warm_hook_script: str
    warm_hook_output: str
    start_hook: StartHook


@dataclass(frozen=True)
class RepositorySetSeed:
    """A named group of repositories."""

    id: str
    name: str
    description: str | None
    repository_ids: tuple[str, ...]


@dataclass(frozen=True)
class EnvironmentSeed:
    """An environment; at most one of `repository_id` / `repository_set_id` is set."""

    id: str
    name: str
    description: str | None
    is_global: bool
    repository_id: str | None
    repository_set_id: str | None
    system_prompt: str | None
    variables: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    skills: tuple[str, ...] = ()
    mcp_count: int = 0


@dataclass(frozen=True)
class OrganizationSeed:
    """Everything an organisation owns before any replica exists."""

    id: str
    name: str
    repositories: dict[str, RepositorySeed] = field(
        default_factory=dict[str, RepositorySeed]
    )
    repository_sets: dict[str, RepositorySetSeed] = field(
        default_factory=dict[str, RepositorySetSeed]
    )
    environments: dict[str, EnvironmentSeed] = field(
        default_factory=dict[str, EnvironmentSeed]
    )


_WEB_FILES = {
    "README.md": """\
# __OWNER__/web

The customer dashboard: a React single-page app built with Vite.

## Development

```sh
npm ci
npm run dev
```

The app talks to `__OWNER__/api` through `src/api/client.ts`.
""",
    "package.json": """\
{
  "name": "@__OWNER__/web",
  "private": true,
  "version": "1.14.2",
  "type": "module",
  "scripts": {
    "dev": "vite",
    "build": "tsc -b && vite build",
    "test": "vitest run",
    "lint": "eslint src"
  },
  "dependencies": {
    "react": "^19.1.0",
    "react-dom": "^19.1.0"
  },
  "devDependencies": {
    "typescript": "^5.8.3",
    "vite": "^7.0.0",
    "vitest": "^3.2.4"
  }
}
""",
    "src/App.tsx": """\
import { useState } from "react";
import { LoginForm } from "./components/LoginForm";
import { fetchProfile, type Profile } from "./api/client";

export function App() {
  const [profile, setProfile] = useState<Profile | null>(null);

  async function handleLogin() {
    setProfile(await fetchProfile());
  }

  if (profile === null) {
    return <LoginForm onLogin={handleLogin} />;
  }

  return (
    <main className="dashboard">
      <h1>Welcome back, {profile.displayName}</h1>
    </main>
  );
}
""",
    "src/api/client.ts": """\
const BASE_URL = import.meta.env.VITE_API_URL ?? "http://localhost:8000";
const REQUEST_TIMEOUT_MS = 5000;

export interface Profile {
  id: string;
  displayName: string;
  email: string;
}

async function request<T>(path: string, init: RequestInit = {}): Promise<T> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
  try {
    const response = await fetch(`${BASE_URL}${path}`, {
      ...init,
      credentials: "include",
      signal: controller.signal,
    });
    if (!response.ok) {
      throw new Error(`${init.method ?? "GET"} ${path} failed: ${response.status}`);
    }
    return (await response.json()) as T;
  } finally {
    clearTimeout(timer);
  }
}

export function fetchProfile(): Promise<Profile> {
  return request<Profile>("/me");
}
""",
    "src/components/LoginForm.tsx": """\
import { useState, type FormEvent } from "react";

interface LoginFormProps {
  onLogin: () => Promise<void>;
}

export function LoginForm({ onLogin }: LoginFormProps) {
  const [busy, setBusy] = useState(false);

  async function handleSubmit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    try {
      await onLogin();
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={handleSubmit}>
      <label htmlFor="email">Email</label>
      <input id="email" name="email" type="email" required />
      <label htmlFor="password">Password</label>
      <input id="password" name="password" type="password" required />
      <button type="submit" disabled={busy}>
        Sign in
      </button>
    </form>
  );
}
""",
}

_API_FILES = {
    "README.md": """\
# __OWNER__/api

HTTP API behind the dashboard, written with FastAPI.

## Running locally

```sh
pip install -e ".[dev]"
uvicorn app.main:app --reload
pytest
```
""",
    "pyproject.toml": """\
[project]
name = "__OWNER__-api"
version = "3.2.0"
requires-python = ">=3.11"
dependencies = ["fastapi>=0.115", "uvicorn>=0.34", "itsdangerous>=2.2"]

[project.optional-dependencies]
dev = ["pytest>=8.3", "httpx>=0.28"]
""",
    "app/main.py": """\
from fastapi import FastAPI, Request

from app.auth import SessionStore, require_session

app = FastAPI(title="__OWNER__ api")
sessions = SessionStore()


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/me")
def me(request: Request) -> dict[str, str]:
    session = require_session(sessions, request)
    return {"id": session.user_id, "displayName": session.display_name}
""",
    "app/auth.py": """\
import secrets
import time
from dataclasses import dataclass

from fastapi import HTTPException, Request

SESSION_COOKIE = "session"
SESSION_TTL_SECONDS = 5 * 60


@dataclass
class Session:
    user_id: str
    display_name: str
    expires_at: float


class SessionStore:
    def __init__(self) -> None:
        self._sessions: dict[str, Session] = {}

    def create(self, user_id: str, display_name: str) -> str:
        token = secrets.token_urlsafe(32)
        expires_at = time.time() + SESSION_TTL_SECONDS
        self._sessions[token] = Session(user_id, display_name, expires_at)
        return token

    def get(self, token: str) -> Session | None:
        session = self._sessions.get(token)
        if session is None or session.expires_at < time.time():
            return None
        return session


def require_session(store: SessionStore, request: Request) -> Session:
    token = request.cookies.get(SESSION_COOKIE, "")
    session = store.get(token)
    if session is None:
        raise HTTPException(status_code=401, detail="Not signed in")
    return session
""",
    "tests/test_auth.py": """\
from app.auth import SessionStore


def test_new_session_is_readable():
    store = SessionStore()
    token = store.create("u_1", "Ada")
    assert store.get(token).display_name == "Ada"


def test_unknown_token_has_no_session():
    assert SessionStore().get("nope") is None
""",
}

_DOCS_FILES = {
    "README.md": """\
# __OWNER__/docs

Product documentation, built with MkDocs and published on every merge to `main`.

```sh
pip install mkdocs-material
mkdocs serve
```
""",
    "mkdocs.yml": """\
site_name: __OWNER__ documentation
theme:
  name: material
nav:
  - Getting started: getting-started.md
  - API reference: api.md
""",
    "docs/getting-started.md": """\
# Getting started

1. Ask your administrator for an invitation.
2. Sign in at the dashboard with your work email.
3. Connect a data source under **Settings → Sources**.

Sessions last five minutes of inactivity; after that you sign in again.
""",
    "docs/api.md": """\
# API reference

All endpoints live under `/v1` and take a bearer token.

| Method | Path | Purpose |
|---|---|---|
| GET | `/health` | Liveness probe |
| GET | `/me` | The signed-in user's profile |
""",
}

_INFRA_FILES = {
    "README.md": """\
# __OWNER__/infra

Terraform for the production and staging stacks.

```sh
terraform init
terraform plan -var-file=staging.tfvars
```
""",
    "main.tf": """\
terraform {
  required_version = ">= 1.8"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.60"
    }
  }
}

provider "aws" {
  region = var.region
}

resource "aws_ecs_cluster" "main" {
  name = "${var.stack}-cluster"
}

resource "aws_cloudwatch_log_group" "api" {
  name              = "/${var.stack}/api"
  retention_in_days = 14
}
""",
    "variables.tf": """\
variable "region" {
  type    = string
  default = "eu-west-1"
}

variable "stack" {
  type        = string
  description = "Name prefix of every resource"
}
""",
}

_NPM_OUTPUT = """\
$ npm ci
added 412 packages, and audited 413 packages in 9s
found 0 vulnerabilities
$ npm run build
> @__OWNER__/web@1.14.2 build
> tsc -b && vite build
vite v7.0.0 building for production...
✓ 214 modules transformed.
dist/index.html                  0.46 kB
dist/assets/index-4f1c2a9b.js  148.31 kB │ gzip: 47.92 kB
✓ built in 2.41s
"""

_PIP_OUTPUT = """\
$ pip install -e ".[dev]"
Obtaining file:///workspace/api
Installing collected packages: __OWNER__-api
Successfully installed __OWNER__-api-3.2.0
$ pytest -q
..                                                                       [100%]
2 passed in 0.31s
"""

_DOCS_OUTPUT = """\
$ pip install mkdocs-material
Successfully installed mkdocs-1.6.1 mkdocs-material-9.6.14
$ mkdocs build --strict
INFO    -  Cleaning site directory
INFO    -  Building documentation to directory: /workspace/docs/site
INFO    -  Documentation built in 0.38 seconds
"""

_TERRAFORM_OUTPUT = """\
$ terraform init -backend=false
Initializing provider plugins...
- Installing hashicorp/aws v5.60.0...
Terraform has been successfully initialized!
$ terraform validate
Success! The configuration is valid.
"""

_REPOSITORY_PLANS = {
    "web": (
        _WEB_FILES,
        "npm ci --prefer-offline",
        "added 412 packages in 11s\n",
        ("npm ci", "npm run build"),
        _NPM_OUTPUT,
    ),
    "api": (
        _API_FILES,
        'pip download -d /opt/wheels ".[dev]"',
        "Saved /opt/wheels/fastapi-0.115.12-py3-none-any.whl\n"
        "Successfully downloaded 14 packages\n",
        ('pip install -e ".[dev]"', "pytest -q"),
        _PIP_OUTPUT,
    ),
    "docs": (
        _DOCS_FILES,
        "pip download -d /opt/wheels mkdocs-material",
        "Successfully downloaded 23 packages\n",
        ("pip install mkdocs-material", "mkdocs build --strict"),
        _DOCS_OUTPUT,
    ),
    "infra": (
        _INFRA_FILES,
        "terraform providers mirror /opt/terraform",
        "- Mirroring hashicorp/aws...\n"
        "  - Selected v5.60.0 to match dependency lock file\n",
        ("terraform init -backend=false", "terraform validate"),
        _TERRAFORM_OUTPUT,
    ),
}

GLOBAL_WARM_HOOK_SCRIPT = "apt-get update && apt-get install -y jq ripgrep"
GLOBAL_WARM_HOOK_OUTPUT = """\
Reading package lists... Done
Setting up jq (1.7.1-3) ...
Setting up ripgrep (14.1.1-1) ...
"""
ENVIRONMENT_START_COMMANDS = ("git config --global pull.rebase true",)


def _owned(text: str, owner: str) -> str:
    return text.replace(_OWNER, owner)


def _repository(org: str, short_name: str) -> RepositorySeed:
    files, warm_script, warm_output, commands, start_output = _REPOSITORY_PLANS[
        short_name
    ]
    name = f"{org}/{short_name}"
    return RepositorySeed(
        id=stable_id(org, "repository", short_name),
        name=name,
        url=f"https://github.com/{name}",
        default_branch="main",
        files={path: _owned(text, org) for path, text in files.items()},
        warm_hook_script=warm_script,
        warm_hook_output=_owned(warm_output, org),
        start_hook=StartHook(commands, _owned(start_output, org)),
    )


def _repository_sets(
    org: str, repos: dict[str, RepositorySeed]
) -> dict[str, RepositorySetSeed]:
    def members(*short_names: str) -> tuple[str, ...]:
        by_name = {r.name: r.id for r in repos.values()}
        return tuple(by_name[f"{org}/{n}"] for n in short_names)

    sets = [
        RepositorySetSeed(
            id=stable_id(org, "repository-set", "frontend+api"),
            name="frontend+api",
            description="The dashboard and the API it calls",
            repository_ids=members("web", "api"),
        ),
        RepositorySetSeed(
            id=stable_id(org, "repository-set", "platform"),
            name="platform",
            description=None,
            repository_ids=members("api", "infra"),
        ),
    ]
    return {s.id: s for s in sets}


def _environments(
    org: str,
    repos: dict[str, RepositorySeed],
    sets: dict[str, RepositorySetSeed],
) -> dict[str, EnvironmentSeed]:
    environments = [
        EnvironmentSeed(
            id=stable_id(org, "environment", "global"),
            name="Organization defaults",
            description="Variables and hooks shared by every workspace",
            is_global=True,
            repository_id=None,
            repository_set_id=None,
            system_prompt=None,
            variables=("SENTRY_DSN",),
            skills=("code-review",),
        )
    ]
    for repo in repos.values():
        short = repo.name.split("/", 1)[1]
        environments.append(
            EnvironmentSeed(
                id=stable_id(org, "environment", "repository", short),
                name=short,
                description=f"Default environment for {repo.name}",
                is_global=False,
                repository_id=repo.id,
                repository_set_id=None,
                system_prompt="Run the test suite before you open a pull request.",
                variables=("NODE_ENV",) if short == "web" else ("DATABASE_URL",),
                files=(".npmrc",) if short == "web" else (),
            )
        )
    for repo_set in sets.values():
        environments.append(
            EnvironmentSeed(
                id=stable_id(org, "environment", "repository-set", repo_set.name),
                name=repo_set.name,
                description=f"Workspaces spanning the {repo_set.name} repositories",
                is_global=False,
                repository_id=None,
                repository_set_id=repo_set.id,
                system_prompt=None,
                variables=("DATABASE_URL", "VITE_API_URL"),
                mcp_count=1,
            )
        )
    return {e.id: e for e in environments}


def build_organization(org: str) -> OrganizationSeed:
    """Build the seed of organisation `org`; repositories are named `<org>/...`."""
    repos = [_repository(org, short) for short in _REPOSITORY_PLANS]
    by_id = {r.id: r for r in repos}
    sets = _repository_sets(org, by_id)
    return OrganizationSeed(
        id=stable_id(org, "organization"),
        name=org,
        repositories=by_id,
        repository_sets=sets,
        environments=_environments(org, by_id, sets),
    )


def environment_repositories(
    org: OrganizationSeed, env: EnvironmentSeed
) -> list[RepositorySeed]:
    """Return the repositories a workspace in `env` checks out, in set order."""
    if env.repository_id is not None:
        return [org.repositories[env.repository_id]]
    if env.repository_set_id is not None:
        repo_set = org.repository_sets[env.repository_set_id]
        return [org.repositories[i] for i in repo_set.repository_ids]
    return []
