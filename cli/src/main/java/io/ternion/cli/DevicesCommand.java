package io.ternion.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.ternion.engine.Backends;
import io.ternion.graph.BackendUnavailableException;
import io.ternion.graph.DeviceInfo;
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code ternion devices}: the OpenCL devices, and which one {@code --backend auto} would use. */
@Command(name = "devices", mixinStandardHelpOptions = true,
        description = "List the OpenCL platforms' devices and the one --backend auto picks (--device N selects another).")
final class DevicesCommand implements Callable<Integer> {
    @Option(names = "--json", description = "Print JSON (schema in the README).")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        DeviceInfo.Listing listing;
        String problem = null;
        try {
            listing = Backends.devices();
        } catch (BackendUnavailableException e) {
            listing = new DeviceInfo.Listing(List.of(), -1);
            problem = e.getMessage();
        }
        if (json) {
            Map<String, Object> root = new LinkedHashMap<>();
            root.put("devices", listing.devices());
            root.put("auto", listing.autoChoice() >= 0 ? "opencl" : "cpu");
            root.put("auto_device", listing.autoChoice() >= 0 ? listing.autoChoice() : null);
            root.put("problem", problem);
            out.println(new ObjectMapper().setPropertyNamingStrategy(com.fasterxml.jackson.databind.PropertyNamingStrategies.SNAKE_CASE)
                    .enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(root));
            return 0;
        }
        if (problem != null) out.println("OpenCL: " + problem);
        else if (listing.devices().isEmpty()) out.println("OpenCL: no platform has a device");
        for (DeviceInfo d : listing.devices()) {
            out.printf(Locale.ROOT, "#%d %s%n", d.index(), d.name());
            out.printf(Locale.ROOT, "    platform %s, vendor %s, %s, %s, driver %s%n", d.platform(), d.vendor(), d.type(), d.version(), d.driver());
            out.printf(Locale.ROOT, "    memory %.2f GiB (max allocation %.2f GiB), %d compute units, work-groups up to %d, fp16 %s, subgroups %s%s%n",
                    d.globalMemory() / 1073741824.0, d.maxAllocation() / 1073741824.0, d.computeUnits(), d.maxWorkGroupSize(),
                    d.fp16() ? "yes" : "no", d.subgroups() ? "yes" : "no", d.usable() ? "" : ", NOT USABLE (unavailable or no compiler)");
        }
        out.println(listing.autoChoice() >= 0
                ? "auto: opencl on #" + listing.autoChoice() + " " + listing.devices().get(listing.autoChoice()).name()
                : "auto: cpu (no usable OpenCL GPU; --backend opencl --device N runs on a listed device anyway)");
        return 0;
    }
}
