package dev.netfence.hostguard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.netfence.core.EnforcementException;
import dev.netfence.core.ErrorCode;
import dev.netfence.policy.PolicyParser;
import dev.netfence.rules.PlannedRules;
import dev.netfence.rules.RulePlanner;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * GuardWrites against a fake host table: applies queued behind a write share one transaction, a
 * refused joint transaction fails only the apply whose text was refused, and what our own
 * transactions prove about the chains they did not touch.
 */
class GuardWritesTest {
    private final GuardRenderer renderer = new GuardRenderer();
    private final PlannedRules quarantine = new RulePlanner().quarantine();
    private final PlannedRules open = new RulePlanner().plan(new PolicyParser().parse(
            "{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\"198.51.100.7:443\"],\"dns\":false,"
                    .concat("\"outbound\":false,\"inbound\":false}").getBytes(StandardCharsets.UTF_8)),
            Map.of(), List.of());
    private final ExecutorService pool = Executors.newFixedThreadPool(3);
    /** Interfaces whose name now names another device (LinkCheck says not current). */
    private final List<String> replaced = new CopyOnWriteArrayList<>();

    @AfterEach
    void stopThreads() {
        pool.shutdownNow();
    }

    @Test
    void appliesQueuedBehindAWriteAreWrittenTogetherInTheNextTransaction() throws Exception {
        GatedTable table = new GatedTable();
        GuardWrites writes = new GuardWrites(table, (name, ifindex) -> !replaced.contains(name));
        List<Future<String>> f = batch(table, () -> { },
                () -> submit(writes, "veth1", "c1", quarantine),
                () -> submit(writes, "veth2", "c2", quarantine),
                () -> submit(writes, "veth3", "c3", open));
        Future<String> first = f.get(0);
        Future<String> second = f.get(1);
        Future<String> third = f.get(2);

        assertThat(first.get()).isNull();
        assertThat(second.get()).isNull();
        assertThat(third.get()).isNull();
        assertThat(table.scripts).hasSize(2);
        assertThat(table.scripts.get(1)).isEqualTo(renderer.replace(List.of(chain("veth2", "c2")), List.of(), quarantine)
                + renderer.replace(List.of(chain("veth3", "c3")), List.of(), open));
        assertThat(writes.installed()).containsOnlyKeys("veth1", "veth2", "veth3");
    }

    @Test
    void aRefusedJointTransactionIsWrittenApplyByApplySoOnlyTheRefusedApplyFails() throws Exception {
        GatedTable table = new GatedTable();
        table.refuse = "veth3";
        GuardWrites writes = new GuardWrites(table, (name, ifindex) -> !replaced.contains(name));
        List<Future<String>> f = batch(table, () -> { },
                () -> submit(writes, "veth1", "c1", quarantine),
                () -> submit(writes, "veth2", "c2", quarantine),
                () -> submit(writes, "veth3", "c3", quarantine));
        Future<String> first = f.get(0);
        Future<String> second = f.get(1);
        Future<String> third = f.get(2);

        assertThat(first.get()).isNull();
        assertThat(second.get()).isNull();
        assertThatThrownBy(third::get).cause().isInstanceOfSatisfying(EnforcementException.class,
                e -> assertThat(e.code()).isEqualTo(ErrorCode.RULES_REJECTED));
        assertThat(table.scripts).as("committed: veth1, then veth2 on its own")
                .containsExactly(renderer.replace(List.of(chain("veth1", "c1")), List.of(), quarantine),
                        renderer.replace(List.of(chain("veth2", "c2")), List.of(), quarantine));
        assertThat(writes.installed()).doesNotContainKey("veth3");
    }

    @Test
    void twoAppliesOfOneChainInOneBatchAreWrittenOneAfterTheOtherAndTheLaterWins() throws Exception {
        GatedTable table = new GatedTable();
        GuardWrites writes = new GuardWrites(table, (name, ifindex) -> !replaced.contains(name));
        List<Future<String>> f = batch(table, () -> { },
                () -> submit(writes, "veth1", "c1", quarantine),
                () -> submit(writes, "veth2", "c2", open),
                () -> submit(writes, "veth2", "c2", quarantine));
        Future<String> first = f.get(0);
        Future<String> second = f.get(1);
        Future<String> third = f.get(2);
        first.get();
        second.get();
        third.get();

        assertThat(table.scripts).hasSize(3);
        assertThat(table.scripts.get(2)).isEqualTo(renderer.replace(List.of(chain("veth2", "c2")), List.of(), quarantine));
    }

    @Test
    void aChainTakenOverByAnotherContainerInTheSameBatchIsRecreatedInItsOwnTransaction() throws Exception {
        GatedTable table = new GatedTable();
        GuardWrites writes = new GuardWrites(table, (name, ifindex) -> true);
        Future<String> first = pool.submit(() -> submit(writes, "veth1", "c1", quarantine));
        table.entered.await();
        Future<String> second = queued(() -> submit(writes, "veth2", "c2", quarantine));
        Future<String> third = queued(() -> writes.submit(List.of(new GuardChain("veth2", 12, "c3")), renderer.rules(open),
                Map.of("veth2", renderer.listing(new GuardChain("veth2", 12, "c3"), renderer.rules(open)))));
        table.gate.countDown();
        first.get();
        second.get();
        third.get();

        assertThat(table.scripts).hasSize(3);
        assertThat(table.scripts.get(2)).isEqualTo(renderer.replace(List.of(new GuardChain("veth2", 12, "c3")),
                List.of("veth2"), open));
        assertThat(table.scripts.get(2)).contains("delete chain netdev netfence veth2\n");
        assertThat(writes.installed().get("veth2")).isEqualTo(new GuardChain("veth2", 12, "c3"));
    }

    @Test
    void aChainOurOwnTransactionDidNotTouchStaysKnownToHoldItsRulesButAnOutsideCommitIsNeverMasked() {
        FakeHostTable table = new FakeHostTable();
        table.generation = 5;
        GuardWrites writes = new GuardWrites(table, (name, ifindex) -> !replaced.contains(name));
        submit(writes, "veth1", "c1", quarantine); // 5 -> 6, ours alone
        submit(writes, "veth2", "c2", quarantine); // 6 -> 7, ours alone: veth1 untouched, still held

        assertThat(submit(writes, "veth1", "c1", quarantine)).isNull();
        assertThat(table.listed).as("veth1 known to hold its rules at 7 without listing").isEmpty();
        assertThat(table.scripts).hasSize(2);

        table.generation++; // someone else committed in the host's ruleset: 7 -> 8
        submit(writes, "veth2", "c2", open); // 8 -> 9, ours alone, but veth1 was held at 7, not 8
        table.chains.put("veth1", renderer.listing(chain("veth1", "c1"), quarantine).replace("policy drop;", "policy accept;"));

        assertThat(submit(writes, "veth1", "c1", quarantine)).startsWith("host guard chain veth1 holds");
        assertThat(table.listed).containsExactly("veth1");
        assertThat(table.scripts).hasSize(4);
    }

    @Test
    void aChainWhoseInterfaceWasReplacedWhileItQueuedIsNotWrittenAndOnlyItsApplyFailsRetryably() throws Exception {
        GatedTable table = new GatedTable();
        GuardWrites writes = new GuardWrites(table, (name, ifindex) -> !replaced.contains(name));
        // before the gate opens, c3's veth goes and another container's takes its name
        List<Future<String>> f = batch(table, () -> replaced.add("veth3"),
                () -> submit(writes, "veth1", "c1", quarantine),
                () -> submit(writes, "veth2", "c2", quarantine),
                () -> submit(writes, "veth3", "c3", quarantine));
        Future<String> first = f.get(0);
        Future<String> second = f.get(1);
        Future<String> third = f.get(2);

        assertThat(first.get()).isNull();
        assertThat(second.get()).isNull();
        assertThatThrownBy(third::get).cause().isInstanceOfSatisfying(EnforcementException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.VERIFY_FAILED);
            assertThat(e.retryable()).isTrue();
            assertThat(e.getMessage()).isEqualTo("host interface veth3 is no longer ifindex 11 (replaced while its guard "
                    + "waited); nothing written");
        });
        assertThat(String.join("", table.scripts)).doesNotContain("veth3");
        assertThat(writes.installed()).containsOnlyKeys("veth1", "veth2");
    }

    @Test
    void anUnexpectedFailureOfOneApplyInABatchFailsThatApplyAlone() throws Exception {
        GatedTable table = new GatedTable();
        GuardWrites writes = new GuardWrites(table, (name, ifindex) -> {
            if (name.equals("veth3")) {
                throw new IllegalStateException("netlink answered nonsense");
            }
            return true;
        });
        List<Future<String>> f = batch(table, () -> { },
                () -> submit(writes, "veth1", "c1", quarantine),
                () -> submit(writes, "veth2", "c2", quarantine),
                () -> submit(writes, "veth3", "c3", quarantine));
        Future<String> first = f.get(0);
        Future<String> second = f.get(1);
        Future<String> third = f.get(2);

        assertThat(first.get()).isNull();
        assertThat(second.get()).isNull();
        assertThatThrownBy(third::get).cause().isInstanceOf(IllegalStateException.class).hasMessage("netlink answered nonsense");
        assertThat(writes.installed()).containsOnlyKeys("veth1", "veth2");
    }

    /**
     * The first call starts writing and waits at the table's gate; each other call is queued
     * behind it (its thread waiting for the lock); then {@code beforeRelease} runs and the gate
     * opens. The calls' results, in order.
     */
    @SafeVarargs
    private List<Future<String>> batch(GatedTable table, Runnable beforeRelease, java.util.concurrent.Callable<String>... calls)
            throws Exception {
        List<Future<String>> out = new java.util.ArrayList<>();
        out.add(pool.submit(calls[0]));
        table.entered.await();
        for (int i = 1; i < calls.length; i++) {
            out.add(queued(calls[i]));
        }
        beforeRelease.run();
        table.gate.countDown();
        return out;
    }

    /** Submits from a pool thread and returns once that thread waits for the lock. */
    private Future<String> queued(java.util.concurrent.Callable<String> call) {
        List<Thread> thread = new CopyOnWriteArrayList<>();
        Future<String> f = pool.submit(() -> {
            thread.add(Thread.currentThread());
            return call.call();
        });
        await().until(() -> !thread.isEmpty() && thread.get(0).getState() == Thread.State.BLOCKED);
        return f;
    }

    @Test
    void removingAVanishedInterfacesChainNeverDeletesTheChainANewInterfaceOfThatNameGotMeanwhile() {
        FakeHostTable table = new FakeHostTable();
        GuardWrites writes = new GuardWrites(table, (name, ifindex) -> true);
        GuardChain old = new GuardChain("veth0", 11, "c1");
        synchronized (writes) {
            writes.submit(List.of(old), renderer.rules(quarantine), Map.of("veth0", renderer.listing(old, quarantine)));
        }
        // veth0 went with c1 (the kernel deleted its chain), and c2's new veth0 got a chain of its own since
        table.listing = """
                table netdev netfence {
                \tchain veth0 {
                \t\tcomment "netfence container=c2 ifindex=12"
                \t\ttype filter hook ingress device "veth0" priority -500; policy drop;
                \t}
                }
                """;
        table.rejectNext = 1; // the delete of c1's chain, which is gone: re-read, and built again
        int before = table.scripts.size();

        synchronized (writes) {
            writes.remove(List.of(old));
        }

        assertThat(table.scripts.subList(before, table.scripts.size())).as("c2's chain is not c1's to delete").isEmpty();
        assertThat(writes.installed()).containsEntry("veth0", new GuardChain("veth0", 12, "c2"));
    }

    private String submit(GuardWrites writes, String device, String owner, PlannedRules plan) {
        GuardChain chain = chain(device, owner);
        List<String> body = renderer.rules(plan);
        return writes.submit(List.of(chain), body, Map.of(device, renderer.listing(chain, body)));
    }

    private static GuardChain chain(String device, String owner) {
        return new GuardChain(device, 11, owner);
    }

    /** A table whose first transaction waits at a gate; a script naming {@link #refuse} is refused. */
    private static final class GatedTable implements HostTable {
        final List<String> scripts = new CopyOnWriteArrayList<>();
        final CountDownLatch entered = new CountDownLatch(1);
        final CountDownLatch gate = new CountDownLatch(1);
        volatile String refuse;

        @Override
        public void run(String script) throws Rejected {
            entered.countDown();
            try {
                gate.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (refuse != null && script.contains(refuse)) {
                throw new Rejected("Error: Could not process rule: No such file or directory");
            }
            scripts.add(script);
        }

        @Override
        public String list() {
            return "";
        }

        @Override
        public String listChain(String chain) {
            return "";
        }
    }
}
