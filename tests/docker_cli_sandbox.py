"""An inspect SandboxEnvironment over one running container, through `docker exec` and `docker cp`.

inspect's own docker provider drives containers through Docker Compose v2, which cannot be
installed on this machine; this adapter gives ExecScoringRuntime the same three operations
(exec, write_file, read_file) over a container the test started itself, so the docker/k8s
scoring path runs against a real container.
"""

from __future__ import annotations

import asyncio
import io
import os
import tarfile
import tempfile
from typing import Literal, overload

from inspect_ai.util import ExecResult, SandboxEnvironment, SandboxEnvironmentConfigType

DOCKER_TIMEOUT = 120.0


async def docker(
    *args: str, input: bytes | None = None, timeout: float = DOCKER_TIMEOUT
) -> tuple[int, bytes, bytes]:
    """Run the docker client; (exit code, stdout, stderr). Killed at the timeout."""
    proc = await asyncio.create_subprocess_exec(
        "docker", *args,
        stdin=asyncio.subprocess.PIPE if input is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        out, err = await asyncio.wait_for(proc.communicate(input), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    return proc.returncode or 0, out, err


class DockerCliSandbox(SandboxEnvironment):
    """One container, driven with the docker client; its default user is the image's."""

    def __init__(self, container: str) -> None:
        self.container = container

    async def exec(
        self,
        cmd: list[str],
        input: str | bytes | None = None,
        cwd: str | None = None,
        env: dict[str, str] | None = None,
        user: str | None = None,
        timeout: int | None = None,
        timeout_retry: bool = True,
        concurrency: bool = True,
    ) -> ExecResult[str]:
        args = ["exec", "-i"] if input is not None else ["exec"]
        if user is not None:
            args += ["--user", user]
        if cwd is not None:
            args += ["--workdir", cwd]
        for name, value in (env or {}).items():
            args += ["--env", f"{name}={value}"]
        data = input.encode() if isinstance(input, str) else input
        # the command's own limit, as inspect's providers apply it: TimeoutError when reached
        code, out, err = await docker(
            *args, self.container, *cmd, input=data,
            timeout=float(timeout) if timeout is not None else DOCKER_TIMEOUT * 10,
        )  # fmt: skip
        return ExecResult(
            code == 0, code, out.decode(errors="replace"), err.decode(errors="replace")
        )

    async def write_file(self, file: str, contents: str | bytes) -> None:
        data = contents.encode() if isinstance(contents, str) else contents
        parent = os.path.dirname(file) or "/"
        made = await self.exec(["mkdir", "-p", parent], user="root", timeout=60)
        if not made.success:
            raise PermissionError(made.stderr)
        with tempfile.NamedTemporaryFile() as host:
            host.write(data)
            host.flush()
            code, _, err = await docker("cp", host.name, f"{self.container}:{file}")
        if code != 0:
            raise PermissionError(err.decode(errors="replace"))

    @overload
    async def read_file(self, file: str, text: Literal[True] = True) -> str: ...

    @overload
    async def read_file(self, file: str, text: Literal[False]) -> bytes: ...

    async def read_file(self, file: str, text: bool = True) -> str | bytes:
        # `docker cp CONTAINER:FILE -` writes a tar stream holding the one file
        code, out, err = await docker("cp", f"{self.container}:{file}", "-")
        if code != 0:
            message = err.decode(errors="replace")
            if "Could not find the file" in message or "No such" in message:
                raise FileNotFoundError(file)
            raise PermissionError(message)
        with tarfile.open(fileobj=io.BytesIO(out)) as tar:
            member = tar.next()
            source = tar.extractfile(member) if member is not None else None
            if source is None:
                raise IsADirectoryError(file)
            data = source.read()
        return data.decode() if text else data

    @classmethod
    async def sample_init(
        cls, task_name: str, config: SandboxEnvironmentConfigType | None, metadata: dict[str, str]
    ) -> dict[str, SandboxEnvironment]:
        raise NotImplementedError("the test starts its container itself")

    @classmethod
    async def sample_cleanup(
        cls,
        task_name: str,
        config: SandboxEnvironmentConfigType | None,
        environments: dict[str, SandboxEnvironment],
        interrupted: bool,
    ) -> None:
        raise NotImplementedError("the test removes its container itself")
