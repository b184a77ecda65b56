package dev.netfence.enforce;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.netns.NamespaceId;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What {@link MemberReads} keeps of each namespace member's last capability read, against a fake
 * /proc whose pids live in this JVM's namespace: a member counts for the others while its process
 * is there, a read that found nothing forgets it, and a read whose process is gone before it
 * could be named is not kept (it used to be kept without a token, and every later look at that
 * namespace failed).
 */
class MemberReadsTest {
    private static final String ID_A = "a".repeat(64);
    private static final String ID_B = "b".repeat(64);
    private static final MemberReads.Found NET_ADMIN = new MemberReads.Found(List.of("CAP_NET_ADMIN"), true);

    @TempDir
    Path proc;

    @Test
    void aMembersFindingCountsForTheOthersNotForItselfUntilAReadFindsNothing() throws Exception {
        NamespaceId pod = member(4343);
        MemberReads reads = reads();

        reads.record(pod, ID_B, 4343, NET_ADMIN);

        assertThat(reads.beside(pod, ID_A).risks()).isEqualTo(Map.of("CAP_NET_ADMIN", ID_B));
        assertThat(reads.beside(pod, ID_A).reachingHost()).isEqualTo(ID_B);
        assertThat(reads.beside(pod, ID_B)).as("its own").isEqualTo(MemberReads.Beside.NONE);
        reads.record(pod, ID_B, 4343, new MemberReads.Found(List.of(), false));
        assertThat(reads.beside(pod, ID_A)).isEqualTo(MemberReads.Beside.NONE);
    }

    @Test
    void aReadWhoseProcessIsGoneBeforeItIsNamedIsNotKeptAndBreaksNothing() throws Exception {
        NamespaceId pod = member(4343);
        MemberReads reads = reads();
        reads.record(pod, ID_B, 4343, NET_ADMIN);

        reads.record(pod, "c".repeat(64), 4545, NET_ADMIN); // no such process

        assertThat(reads.beside(pod, ID_A).risks()).isEqualTo(Map.of("CAP_NET_ADMIN", ID_B));
        assertThat(reads.beside(pod, ID_A).reachingHost()).isEqualTo(ID_B);
    }

    @Test
    void aMemberWhoseProcessExitedNoLongerCounts() throws Exception {
        NamespaceId pod = member(4343);
        MemberReads reads = reads();
        reads.record(pod, ID_B, 4343, NET_ADMIN);

        try (var paths = Files.walk(proc.resolve("4343"))) {
            for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }

        assertThat(reads.beside(pod, ID_A)).isEqualTo(MemberReads.Beside.NONE);
    }

    private MemberReads reads() {
        ProcessTokens tokens = new ProcessTokens(proc);
        return new MemberReads(tokens, new MemberLiveness(proc, tokens, Clock.systemUTC()));
    }

    @Test
    void theRisksHeldBesideComeInOneOrderSoTheOutcomesWarningsDoNotChangeWithAJvm() {
        java.util.Map<String, String> held = new java.util.HashMap<>();
        for (String risk : List.of("NO_SECCOMP", "CAP_NET_RAW", "CAP_NET_ADMIN")) {
            held.put(risk, "sidecar");
        }

        assertThat(new MemberReads.Beside(null, held).risks().keySet())
                .containsExactly("CAP_NET_ADMIN", "CAP_NET_RAW", "NO_SECCOMP");
        assertThat(new Applied(null, java.util.Map.of(), null, List.of(), List.of(), null, null, held).beside().keySet())
                .containsExactly("CAP_NET_ADMIN", "CAP_NET_RAW", "NO_SECCOMP");
    }

    /** Pid {@code pid} living in this JVM's network namespace; that namespace's id. */
    private NamespaceId member(int pid) {
        return FakeProc.inThisNamespace(proc, pid, FakeProc.PODMAN_DEFAULT_CAPS);
    }
}
