package dev.netfence.cli;

import dev.netfence.app.RunConfig;
import dev.netfence.kafka.testkit.TestKafka;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** For tests outside this package: the {@link RunConfig} that {@code netfence run ARGS} would start with. */
public final class RunConfigs {
    private RunConfigs() {}

    public static RunConfig of(String... args) {
        return RunOptionsTest.config(Map.of(), args);
    }

    /** {@link #of(List)} of these plus a test's own flags: the test broker and the four topics of one node. */
    public static List<String> kafkaFlags(String node, String events, String outcomes, String policies, String enforcements) {
        return new ArrayList<>(List.of("--bootstrap-servers", TestKafka.bootstrapServers(), "--node-id", node,
                "--events-topic", events, "--outcomes-topic", outcomes, "--policies-topic", policies,
                "--enforcements-topic", enforcements));
    }

    public static RunConfig of(List<String> args) {
        return of(args.toArray(String[]::new));
    }
}
