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
 * per write and per removal of a task's policy, whether or not an event waits for it, and none
 * for a waiter that gives up.
 */
class PolicyTableTest {
    private static final StoredPolicy POLICY = new StoredPolicy.Valid(new PolicyParser().parse(
            "{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\"198.18.0.2:80\"]}"
                    .getBytes(StandardCharsets.UTF_8)));

    private final PolicyTable table = new PolicyTable();
    private final List<String> changes = new CopyOnWriteArrayList<>();

    PolicyTableTest() {
        table.onChange(changes::add);
    }

    @Test
    void everyWriteOfAPolicyTellsTheListenersEvenWhenNoEventWaitsForIt() {
        table.put("task-1", POLICY);
        table.put("task-1", POLICY);
        table.put("task-2", POLICY);

        assertThat(changes).containsExactly("task-1", "task-1", "task-2");
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
