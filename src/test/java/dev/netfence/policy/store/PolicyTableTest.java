package dev.netfence.policy.store;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.policy.PolicyParser;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * The change listeners both stores offer (the reconciler's trigger for policy updates): one call
 * per write that changes a task's policy and per removal, whether or not an event waits for it,
 * none for the same policy written again, and none for a waiter that gives up.
 */
class PolicyTableTest {
    private static final StoredPolicy POLICY = new StoredPolicy.Valid(new PolicyParser().parse(
            "{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\"198.18.0.2:80\"]}"
                    .getBytes(StandardCharsets.UTF_8)));

    private static final StoredPolicy OTHER = new StoredPolicy.Valid(new PolicyParser().parse(
            "{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\"198.18.0.3:80\"]}"
                    .getBytes(StandardCharsets.UTF_8)));

    private final PolicyTable table = new PolicyTable();
    private final List<String> changes = new CopyOnWriteArrayList<>();

    PolicyTableTest() {
        table.onChange(changes::add);
    }

    @Test
    void everyWriteThatChangesAPolicyTellsTheListenersEvenWhenNoEventWaitsForIt() {
        table.put("task-1", POLICY);
        table.put("task-1", OTHER);
        table.put("task-2", POLICY);

        assertThat(changes).containsExactly("task-1", "task-1", "task-2");
    }

    @Test
    void theSamePolicyWrittenAgainTellsNobody() {
        // a controller that re-puts every policy each second queued a policy update per live container
        // each time, ahead of every resync check
        table.put("task-1", POLICY);
        table.put("task-1", new StoredPolicy.Valid(((StoredPolicy.Valid) POLICY).policy()));
        table.put("task-1", POLICY);

        assertThat(changes).containsExactly("task-1");
        assertThat(table.get("task-1")).contains(POLICY);
    }

    @Test
    void aWriteThatWakesAWaiterTellsTheListenersOnce() throws Exception {
        var waiting = table.whenAvailable("task-1", Duration.ofMinutes(1));

        table.put("task-1", POLICY);

        assertThat(waiting.get()).contains(POLICY);
        assertThat(changes).containsExactly("task-1");
    }

    @Test
    void aRemovalTellsTheListenersAndAWaiterThatGivesUpDoesNot() throws Exception {
        table.put("task-1", POLICY);
        table.remove("task-1");
        table.remove("task-1");
        assertThat(table.whenAvailable("task-2", Duration.ofMillis(1)).get()).isEmpty();

        assertThat(changes).containsExactly("task-1", "task-1");
    }
}
