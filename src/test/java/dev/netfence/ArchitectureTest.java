package dev.netfence;

import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.core.domain.Dependency;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Dependencies between netfence's packages point one way: every main package has a layer, and a
 * class may use classes of its own package or of packages in strictly lower layers only. Two
 * packages on the same layer may not use each other, so a cycle is impossible. A new package
 * must be given its layer here before its first class compiles into the build, which makes the
 * placement a deliberate, reviewed decision.
 */
class ArchitectureTest {
    /** Higher may depend on lower; equal ranks are independent peers. */
    private static final Map<String, Integer> LAYERS = Map.ofEntries(
            Map.entry("cli", 100),
            Map.entry("app", 90),
            Map.entry("kafka", 80),
            Map.entry("ops", 70),
            Map.entry("reconcile", 65),
            Map.entry("event", 60),
            Map.entry("enforce", 50),
            Map.entry("nft", 45),
            Map.entry("hostguard", 45),
            Map.entry("netns", 40),
            Map.entry("iptables", 40),
            Map.entry("rules", 30),
            Map.entry("policy.store", 25),
            Map.entry("policy", 20),
            Map.entry("core", 10),
            Map.entry("json", 5));

    private static JavaClasses classes;

    @BeforeAll
    static void importMainClasses() {
        classes = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPath(Path.of("target", "classes"));
    }

    @Test
    void everyMainPackageHasALayer() {
        TreeSet<String> unplaced = new TreeSet<>();
        for (JavaClass c : classes) {
            String pkg = relative(c.getPackageName());
            if (!LAYERS.containsKey(pkg)) {
                unplaced.add(pkg);
            }
        }
        assertThat(unplaced).as("packages without a layer in ArchitectureTest.LAYERS").isEmpty();
    }

    @Test
    void noPackageDependsOnItsOwnLayerOrAHigherOne() {
        List<String> violations = new ArrayList<>();
        int checked = 0;
        for (JavaClass c : classes) {
            String from = relative(c.getPackageName());
            for (Dependency d : c.getDirectDependenciesFromSelf()) {
                String targetPackage = d.getTargetClass().getPackageName();
                if (!targetPackage.startsWith("dev.netfence.")) {
                    continue;
                }
                String to = relative(targetPackage);
                if (from.equals(to)) {
                    continue;
                }
                checked++;
                Integer fromRank = LAYERS.get(from);
                Integer toRank = LAYERS.get(to);
                if (fromRank == null || toRank == null || toRank >= fromRank) {
                    violations.add(from + " -> " + to + ": " + d.getDescription());
                }
            }
        }
        assertThat(checked).as("cross-package dependencies examined").isGreaterThan(100);
        assertThat(violations).as("upward or sideways package dependencies").isEmpty();
    }

    private static String relative(String pkg) {
        return pkg.equals("dev.netfence") ? "" : pkg.substring("dev.netfence.".length());
    }
}
