package dev.netfence.netns;

import dev.netfence.core.EnforcementException;
import dev.netfence.core.ErrorCode;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Asks the container runtime for a container's init pid when the event carries none:
 * {@code podman|docker inspect -f '{{.State.Pid}}' ID} or {@code crictl inspect --output
 * go-template --template '{{.info.pid}}' ID} (containerd and CRI-O). Without a runtime it tries
 * podman, docker and crictl in that order, skipping the ones not installed. A pid of 0 means
 * the container is still starting (or already stopped), so it asks again a few times, briefly and
 * never past the deadline, before answering CONTAINER_NOT_FOUND.
 */
public final class ContainerPidLookup {
    /** The event contract's containerId rule; it also keeps the id from being read as an option. */
    private static final Pattern CONTAINER_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,127}");
    private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(10);

    private final CommandRunner runner;
    private final Clock clock;
    private final int startingAttempts;
    private final Duration startingInterval;

    /**
     * @param startingAttempts how many times to ask while the runtime reports pid 0
     * @param startingInterval the pause between those asks
     */
    public ContainerPidLookup(CommandRunner runner, Clock clock, int startingAttempts, Duration startingInterval) {
        this.runner = Objects.requireNonNull(runner, "runner");
        this.clock = Objects.requireNonNull(clock, "clock");
        if (startingAttempts < 1) {
            throw new IllegalArgumentException("startingAttempts must be at least 1, was: " + startingAttempts);
        }
        if (startingInterval.isNegative()) {
            throw new IllegalArgumentException("startingInterval must not be negative, was: " + startingInterval);
        }
        this.startingAttempts = startingAttempts;
        this.startingInterval = startingInterval;
    }

    public ContainerPidLookup(CommandRunner runner, Clock clock) {
        this(runner, clock, 10, Duration.ofMillis(200));
    }

    /** The init pid (> 0) of {@code containerId} as {@code runtime} (or any runtime, when null) reports it. */
    public int pidOf(String containerId, String runtime, Instant deadline) {
        if (containerId == null || !CONTAINER_ID.matcher(containerId).matches()) {
            throw new EnforcementException(ErrorCode.INVALID_EVENT, "invalid containerId: " + containerId);
        }
        for (int attempt = 1; ; attempt++) {
            int pid = askOnce(containerId, runtime);
            if (pid > 0) {
                return pid;
            }
            Instant next = clock.instant().plus(startingInterval);
            if (attempt >= startingAttempts || next.isAfter(deadline)) {
                throw new EnforcementException(ErrorCode.CONTAINER_NOT_FOUND,
                        "container " + containerId + " has no running process (pid 0)");
            }
            sleep(startingInterval);
        }
    }

    private int askOnce(String containerId, String runtime) {
        List<List<String>> candidates = commands(containerId, runtime);
        List<String> missing = new ArrayList<>();
        String lastFailure = null;
        for (List<String> argv : candidates) {
            CommandResult result;
            try {
                result = runner.run(argv, new byte[0], COMMAND_TIMEOUT);
            } catch (IOException e) {
                missing.add(argv.get(0));
                continue;
            } catch (CommandTimeoutException e) {
                lastFailure = e.getMessage();
                continue;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new EnforcementException(ErrorCode.INTERNAL, "interrupted asking the runtime for a pid", e);
            }
            if (!result.ok()) {
                lastFailure = argv.get(0) + " exit " + result.exitCode() + ": " + result.stderr().strip();
                continue;
            }
            String text = result.stdout().strip();
            try {
                return Integer.parseInt(text);
            } catch (NumberFormatException e) {
                lastFailure = argv.get(0) + " printed no pid: " + text;
            }
        }
        if (missing.size() == candidates.size()) {
            throw new EnforcementException(ErrorCode.FIREWALL_UNAVAILABLE,
                    "no container runtime CLI available to find " + containerId + ": " + String.join(", ", missing));
        }
        throw new EnforcementException(ErrorCode.CONTAINER_NOT_FOUND,
                "runtime does not know a running container " + containerId + " (" + lastFailure + ")");
    }

    static List<List<String>> commands(String containerId, String runtime) {
        List<String> podman = List.of("podman", "inspect", "-f", "{{.State.Pid}}", containerId);
        List<String> docker = List.of("docker", "inspect", "-f", "{{.State.Pid}}", containerId);
        List<String> crictl = List.of("crictl", "inspect", "--output", "go-template", "--template", "{{.info.pid}}", containerId);
        if (runtime == null) {
            return List.of(podman, docker, crictl);
        }
        switch (runtime) {
            case "podman":
                return List.of(podman);
            case "docker":
                return List.of(docker);
            case "containerd":
            case "crio":
                return List.of(crictl);
            default:
                throw new EnforcementException(ErrorCode.INVALID_EVENT, "unknown runtime: " + runtime);
        }
    }

    private static void sleep(Duration pause) {
        try {
            Thread.sleep(pause.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new EnforcementException(ErrorCode.INTERNAL, "interrupted waiting for a container to start", e);
        }
    }
}
