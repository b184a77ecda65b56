package dev.netfence.netns;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.jna.Pointer;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The bounded list of contexts whose free waits for a turn. */
class LateFreesTest {
    @Test
    void contextsWaitUpToTheLimitAndAreFreedOldestFirst() {
        LateFrees late = new LateFrees(2);
        Pointer a = new Pointer(0x1000);
        Pointer b = new Pointer(0x2000);
        assertThat(late.defer(a)).isTrue();
        assertThat(late.defer(b)).isTrue();
        assertThat(late.defer(new Pointer(0x3000))).as("past the limit").isFalse();

        List<Pointer> freed = new ArrayList<>();
        late.drain(freed::add);
        assertThat(freed).containsExactly(a, b);
        assertThat(late.waiting()).isZero();
        assertThat(late.defer(a)).as("room again").isTrue();
    }

    @Test
    void aNegativeLimitIsRefused() {
        assertThatThrownBy(() -> new LateFrees(-1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("limit must be at least 0, was: -1");
    }
}
