package dev.netfence.cli;

import dev.netfence.app.RunConfig;
import java.util.Map;

/** For tests outside this package: the {@link RunConfig} that {@code netfence run ARGS} would start with. */
public final class RunConfigs {
    private RunConfigs() {}

    public static RunConfig of(String... args) {
        return RunOptionsTest.config(Map.of(), args);
    }
}
