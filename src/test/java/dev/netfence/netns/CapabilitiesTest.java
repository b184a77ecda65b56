package dev.netfence.netns;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Set;
import org.junit.jupiter.api.Test;

/** Risky capabilities from /proc/PID/status and the --refuse-capabilities value. */
class CapabilitiesTest {
    private static String status(String eff, String bnd) {
        return "Name:\tsleep\nCapInh:\t0000000000000000\nCapPrm:\t" + eff + "\nCapEff:\t" + eff + "\nCapBnd:\t" + bnd
                + "\nCapAmb:\t0000000000000000\n";
    }

    @Test
    void podmansDefaultSetHoldsNeitherAndEitherSetIsEnough() {
        assertThat(Capabilities.risksIn(status("00000000800405fb", "00000000800405fb"))).isEmpty();
        assertThat(Capabilities.risksIn(status("00000000800425fb", "00000000800425fb"))).containsExactly("CAP_NET_RAW");
        assertThat(Capabilities.risksIn(status("0000000000000000", "000001ffffffffff")))
                .as("dropped from the effective set only").containsExactly("CAP_NET_ADMIN", "CAP_NET_RAW");
        assertThat(Capabilities.risksIn(status("0000000000001000", "0000000000000000"))).containsExactly("CAP_NET_ADMIN");
    }

    @Test
    void aCapabilityKeptInAnyOtherSetCountsThoughDroppedFromTheEffectiveAndBoundingSets() {
        String none = "0000000000000000";
        String podman = "00000000800405fb";
        assertThat(Capabilities.risksIn(sets(none, "0000000000001000", none, podman, none)))
                .as("permitted: one capset raises it again").containsExactly("CAP_NET_ADMIN");
        assertThat(Capabilities.risksIn(sets("0000000000002000", none, none, podman, none)))
                .as("inheritable: exec of a program with that file capability").containsExactly("CAP_NET_RAW");
        assertThat(Capabilities.risksIn(sets(none, none, none, podman, "0000000000003000")))
                .as("ambient").containsExactly("CAP_NET_ADMIN", "CAP_NET_RAW");
        assertThat(Capabilities.risksIn(sets(none, podman, podman, podman, none))).isEmpty();
    }

    @Test
    void aStatusWithoutTheFourClassicSetsIsRefusedAndOneWithoutCapAmbIsRead() {
        String none = "0000000000000000";
        assertThatThrownBy(() -> Capabilities.risksIn("Name:\tsleep\nCapEff:\t" + none + "\nCapBnd:\t" + none + "\n"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("no whole CapInh/CapPrm/CapEff/CapBnd lines in the process status");
        assertThat(Capabilities.risksIn("CapInh:\t" + none + "\nCapPrm:\t0000000000001000\nCapEff:\t" + none
                + "\nCapBnd:\t" + none + "\n")).as("a kernel before 4.3 writes no CapAmb").containsExactly("CAP_NET_ADMIN");
    }

    @Test
    void aFirstReadDecidesOnlyWhenItHoldsTheFourSetsOnWholeLines() {
        String none = "0000000000000000";
        String whole = sets(none, none, none, "000001ffffffffff", none);
        int bnd = whole.indexOf("CapBnd:");
        int amb = whole.indexOf("CapAmb:");
        assertThat(Capabilities.heldInWholeLines(whole)).hasValue(Capabilities.heldIn(whole));
        assertThat(Capabilities.heldInWholeLines(whole.substring(0, amb))).as("cut before CapAmb: within CapPrm anyway")
                .hasValue(0x000001ffffffffffL);
        assertThat(Capabilities.heldInWholeLines(whole.substring(0, bnd + 12)))
                .as("CapBnd cut after \"0000\": its value is not known").isEmpty();
        assertThat(Capabilities.heldInWholeLines(whole.substring(0, amb - 1))).as("CapBnd without its newline").isEmpty();
        assertThat(Capabilities.heldInWholeLines(whole.substring(0, bnd))).as("no CapBnd yet").isEmpty();
        assertThat(Capabilities.heldInWholeLines("")).isEmpty();
    }

    private static String sets(String inh, String prm, String eff, String bnd, String amb) {
        return "Name:\tsleep\nCapInh:\t" + inh + "\nCapPrm:\t" + prm + "\nCapEff:\t" + eff + "\nCapBnd:\t" + bnd
                + "\nCapAmb:\t" + amb + "\nNoNewPrivs:\t0\n";
    }

    @Test
    void refusedCapabilitiesAreParsedWithOrWithoutThePrefixAndAnythingElseIsRefused() {
        assertThat(Capabilities.parseRefused("NET_ADMIN,cap_net_raw")).isEqualTo(Set.of("CAP_NET_ADMIN", "CAP_NET_RAW"));
        assertThat(Capabilities.parseRefused("")).isEmpty();
        assertThat(Capabilities.parseRefused(null)).isEmpty();
        assertThatThrownBy(() -> Capabilities.parseRefused("NET_ADMIN,SYS_ADMIN"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("must be a comma-separated list of NET_ADMIN, NET_RAW, was: NET_ADMIN,SYS_ADMIN");
    }

    @Test
    void aThreadWithNoSeccompFilterIsARiskAndOneWithAFilterOrAKernelThatWritesNoModeIsNot() {
        String none = "0000000000000000";
        String podman = "00000000800405fb";
        String base = sets(none, podman, podman, podman, none);
        assertThat(Capabilities.risksIn(base + "Seccomp:\t0\nSeccomp_filters:\t0\n")).containsExactly("NO_SECCOMP");
        assertThat(Capabilities.risksIn(sets(none, none, none, "0000000000003000", none) + "Seccomp:\t0\n"))
                .containsExactly("CAP_NET_ADMIN", "CAP_NET_RAW", "NO_SECCOMP");
        assertThat(Capabilities.risksIn(base + "Seccomp:\t2\nSeccomp_filters:\t1\n")).as("a filter").isEmpty();
        assertThat(Capabilities.risksIn(base + "Seccomp:\t1\n")).as("strict mode").isEmpty();
        assertThat(Capabilities.risksIn(base)).as("no Seccomp line: nothing to tell").isEmpty();
        assertThat(Capabilities.risksIn(base + "Seccomp:\t0")).as("a mode cut before its newline").isEmpty();
        assertThat(Capabilities.risksIn(base + "Seccomp_filters:\t0\n")).as("not the mode's line").isEmpty();
        assertThatThrownBy(() -> Capabilities.parseRefused("NO_SECCOMP")).as("reported, not refusable")
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aStatusCutInsideASetsValueIsRefusedNotReadAsTheDigitsLeft() {
        String cut = "CapInh:\t0000000000000000\nCapPrm:\t0000000000000000\nCapEff:\t0000000000000000\nCapBnd:\t0000";

        assertThatThrownBy(() -> Capabilities.heldIn(cut)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("no whole");
        assertThat(Capabilities.heldInWholeLines(cut)).isEmpty();
    }
}
