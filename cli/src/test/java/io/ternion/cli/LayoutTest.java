package io.ternion.cli;

import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;
import static com.tngtech.archunit.base.DescribedPredicate.not;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAPackage;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAnyPackage;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The layout the README's Layout section draws, checked on the compiled classes of every module
 * (the cli sees them all; bench's JMH classes sit on top of the same modules): no package depends
 * on itself through others, and each module uses only the modules below it.
 *
 * <pre>
 * gguf ◄── graph ◄── kernels-cpu ◄──┐
 *            ▲  └─── kernels-gpu ◄──┴── engine ◄──┬── harness ◄──┬── cli
 * chat ◄─────┼───────────────────────────┘        └── server ◄───┘
 *  ▲                                                    │
 *  └────────────────────────────────────────────────────┘
 * </pre>
 */
class LayoutTest {
    private static JavaClasses classes;

    @BeforeAll
    static void importClasses() {
        // Main classes only: not this module's tests, nor the other modules' test-jars (fixtures may reach across).
        classes = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .withImportOption(location -> !location.contains("-tests.jar")).importPackages("io.ternion");
    }

    @Test
    void everyModuleIsThere() {
        for (String p : new String[] {"gguf", "graph", "chat", "kernels.cpu", "kernels.gpu", "engine", "tokenizer", "synth", "harness", "server", "cli"}) {
            String pkg = "io.ternion." + p;
            assertTrue(classes.stream().anyMatch(c -> c.getPackageName().equals(pkg)), "no classes in " + pkg + ": the rules below would pass vacuously");
        }
    }

    @Test
    void noPackageCycles() {
        slices().matching("io.ternion.(**)").should().beFreeOfCycles().check(classes);
    }

    @Test
    void ggufKnowsNothingAbove() {
        only("io.ternion.gguf..", "io.ternion.gguf..");
    }

    @Test
    void chatTemplatesAreStandalone() {
        only("io.ternion.chat..", "io.ternion.chat..");
    }

    @Test
    void graphSeesOnlyTheFormat() {
        only("io.ternion.graph..", "io.ternion.graph..", "io.ternion.gguf..");
    }

    @Test
    void eachBackendSeesOnlyItsKernelsAndTheGraph() {
        only("io.ternion.kernels.cpu..", "io.ternion.kernels.cpu..", "io.ternion.graph..", "io.ternion.gguf..");
        only("io.ternion.kernels.gpu..", "io.ternion.kernels.gpu..", "io.ternion.graph..", "io.ternion.gguf..");
    }

    @Test
    void engineIsBelowTheHarnessAndTheCli() {
        noClasses().that().resideInAnyPackage("io.ternion.engine..", "io.ternion.tokenizer..", "io.ternion.synth..")
                .should().dependOnClassesThat().resideInAnyPackage("io.ternion.harness..", "io.ternion.server..", "io.ternion.cli..", "io.ternion.bench..")
                .check(classes);
    }

    /** The server drives the engine's Scheduler and renders chats; it knows neither the harness nor the cli, and they it only through the cli. */
    @Test
    void serverSeesOnlyTheEngineAndChat() {
        only("io.ternion.server..", "io.ternion.server..", "io.ternion.engine..", "io.ternion.tokenizer..", "io.ternion.chat..");
        noClasses().that().resideInAnyPackage("io.ternion.harness..", "io.ternion.bench..")
                .should().dependOnClassesThat().resideInAPackage("io.ternion.server..").check(classes);
    }

    /** Backend types stay in their modules: above the engine, a backend is only a {@code graph.Backend} chosen by name. */
    @Test
    void backendsDoNotLeakAboveTheEngine() {
        noClasses().that().resideInAnyPackage("io.ternion.harness..", "io.ternion.server..", "io.ternion.cli..")
                .should().dependOnClassesThat().resideInAnyPackage("io.ternion.kernels.gpu..")
                .orShould().dependOnClassesThat().haveSimpleName("CpuBackend")
                .check(classes);
    }

    /** Classes in {@code packages} use io.ternion classes only from {@code allowed} (the JDK and libraries are not checked here). */
    private static void only(String packages, String... allowed) {
        noClasses().that().resideInAPackage(packages)
                .should().dependOnClassesThat(resideInAPackage("io.ternion..").and(not(resideInAnyPackage(allowed))))
                .check(classes);
    }
}
