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
 * {@code podman|docker inspect -f '{{.State.Pid}} {{.State.Status}}' ID} or {@code crictl inspect
 * --output go-template --template '{{.info.pid}} {{.status.state}}' ID} (containerd and CRI-O).
 * Without a runtime it tries podman, docker and crictl in that order, skipping the ones not
 * installed. A runtime that does not answer (podman holds a container while its
 * {@code createRuntime} hooks run) is asked again, each ask bounded by the time left, until the
 * deadline and then answered TIMEOUT: the container may run, so the event's outcome must say
 * {@code failed}, never {@code skipped}. A pid of 0 means the container has no process: still
 * starting, or never to run (stopped, exited; {@code created} too, which podman also reports for a
 * container made and never started, one whose start failed, or every container that ran before the
 * node rebooted, review 209), so it asks again a few times, briefly and never past the deadline,
 * before CONTAINER_NOT_FOUND, naming the status.
 */
public final class ContainerPidLookup {
    /** The event contract's containerId rule; it also keeps the id from being read as an option. */
    private static final Pattern CONTAINER_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,127}");
    private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(10);
    /** The least time one ask is given, even at or past the deadline (the first ask always runs). */
    private static final Duration LEAST_ASK = Duration.ofMillis(500);

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

    /**
     * The init pid (> 0) of {@code containerId} as {@code runtime} (or any runtime, when null)
     * reports it; {@code deadline} on this lookup's clock. EnforcementException: TIMEOUT when the
     * runtime did not answer by the deadline;
     * CONTAINER_NOT_FOUND when the runtime does not know it or says it has no process;
     * FIREWALL_UNAVAILABLE when no runtime CLI is installed; INVALID_EVENT for an id or runtime
     * the contract does not allow.
     */
    public int pidOf(String containerId, String runtime, Instant deadline) {
        if (containerId == null || !CONTAINER_ID.matcher(containerId).matches()) {
            throw new EnforcementException(ErrorCode.INVALID_EVENT, "invalid containerId: " + containerId);
        }
        for (int attempt = 1; ; attempt++) {
            Answer answer = askOnce(containerId, runtime, deadline);
            if (answer.pid() > 0) {
                return answer.pid();
            }
            boolean waiting = answer.unanswered() != null;
            Instant next = clock.instant().plus(startingInterval);
            if (next.isAfter(deadline) || !waiting && attempt >= startingAttempts) {
                throw given(containerId, answer);
            }
            sleep(startingInterval);
        }
    }

    private static EnforcementException given(String containerId, Answer answer) {
        if (answer.unanswered() != null) {
            return new EnforcementException(ErrorCode.TIMEOUT, "the runtime did not say the pid of container "
                    + containerId + " before the event's deadline (" + answer.unanswered() + "); it may run: a runtime"
                    + " holds a container while its createRuntime hooks run");
        }
        return new EnforcementException(ErrorCode.CONTAINER_NOT_FOUND, "container " + containerId
                + " has no running process (pid 0" + (answer.status().isEmpty() ? "" : ", status " + answer.status())
                + ")");
    }

    /** One runtime's answer: a pid and its status (lower case, may be empty), or why none came (a timeout). */
    private record Answer(int pid, String status, String unanswered) {}

    private Answer askOnce(String containerId, String runtime, Instant deadline) {
        List<List<String>> candidates = commands(containerId, runtime);
        List<String> missing = new ArrayList<>();
        String lastFailure = null;
        String unanswered = null;
        Duration left = Duration.between(clock.instant(), deadline);
        Duration timeout = left.compareTo(COMMAND_TIMEOUT) > 0 ? COMMAND_TIMEOUT
                : left.compareTo(LEAST_ASK) < 0 ? LEAST_ASK : left;
        for (List<String> argv : candidates) {
            CommandResult result;
            try {
                result = runner.run(argv, new byte[0], timeout);
            } catch (IOException e) {
                missing.add(argv.get(0));
                continue;
            } catch (CommandTimeoutException e) {
                unanswered = argv.get(0) + " did not answer within " + timeout.toMillis() + " ms";
                continue;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new EnforcementException(ErrorCode.INTERNAL, "interrupted asking the runtime for a pid", e);
            }
            if (!result.ok()) {
                lastFailure = argv.get(0) + " exit " + result.exitCode() + ": " + result.stderr().strip();
                continue;
            }
            String[] words = result.stdout().strip().split("\\s+");
            try {
                return new Answer(Integer.parseInt(words[0]),
                        words.length > 1 ? words[1].toLowerCase(java.util.Locale.ROOT) : "", null);
            } catch (NumberFormatException e) {
                lastFailure = argv.get(0) + " printed no pid: " + result.stdout().strip();
            }
        }
        if (unanswered != null) { // a runtime that may know the container did not answer: it may run
            return new Answer(0, "", unanswered);
        }
        if (missing.size() == candidates.size()) {
            throw new EnforcementException(ErrorCode.FIREWALL_UNAVAILABLE,
                    "no container runtime CLI available to find " + containerId + ": " + String.join(", ", missing));
        }
        throw new EnforcementException(ErrorCode.CONTAINER_NOT_FOUND,
                "runtime does not know a running container " + containerId + " (" + lastFailure + ")");
    }

    static List<List<String>> commands(String containerId, String runtime) {
        List<String> podman = List.of("podman", "inspect", "-f", "{{.State.Pid}} {{.State.Status}}", containerId);
        List<String> docker = List.of("docker", "inspect", "-f", "{{.State.Pid}} {{.State.Status}}", containerId);
        List<String> crictl = List.of("crictl", "inspect", "--output", "go-template", "--template",
                "{{.info.pid}} {{.status.state}}", containerId);
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
