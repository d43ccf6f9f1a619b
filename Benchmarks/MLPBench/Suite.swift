import ArgumentParser
import Foundation
import MLPKit

/// Paired rounds per GEMM shape in `--compare` (MLPKit block, numpy block, …; the first pair is a warm-up).
let comparisonRounds = 7
/// Paired rounds per workload in `--compare` (MLPKit run, tf.keras run, …).
let workloadRounds = 3

/// The suite: the GEMM shapes and the workloads of `Benchmarks/workloads.json` (beside numpy and tf.keras with
/// `compare`, beside `device` when given), the peak, GradientMonitor's cost and, with a device, the crossover sweep.
func runSuite(device: (any Backend)?, compare: Bool, jsonOut: String?) throws {
    let file = try WorkloadsFile.shared()
    var results: [String: Any] = [:]
    let reference = compare ? ReferenceServer() : nil
    let cpu = CPUBackend()
    let firstPeak = peakGFLOPS(threads: cpu.threadCount)
    let blas = reference?.blas()
    if let blas { results["numpy_blas"] = blas }
    print("GEMM, GFLOP/s (checked against the reference loop first; max |error| in the last column)"
          + (reference == nil ? "" : "; numpy (\(blas ?? "BLAS unknown")) timed in \(comparisonRounds - 1) rounds alternating with MLPKit, ratio = median of the rounds' ratios"))
    var gemmRows: [[String: Any]] = []
    for shape in file.gemmShapes {
        let gemm = GEMMCase(m: shape.m, n: shape.n, k: shape.k, transA: shape.transA, transB: shape.transB, backend: cpu)
        var mine: [Double] = [], theirs: [Double] = []
        for round in 0..<(reference == nil ? 6 : comparisonRounds) {
            let block = gemm.timedBlock()
            let numpy = reference?.gemm(shape)
            if round > 0 {
                mine.append(block)
                if let numpy { theirs.append(numpy) }
            }
        }
        var row: [String: Any] = ["shape": shape.name, "cpu_gflops": middle(mine), "max_abs_error": Double(gemm.maxError)]
        var line = String(format: "  %-32@ CPU %7.1f", shape.name as NSString, middle(mine))
        if let device {
            let onDevice = runGEMM(m: shape.m, n: shape.n, k: shape.k, transA: shape.transA, transB: shape.transB, backend: device)
            row["device_gflops"] = onDevice.gflops
            line += String(format: "   device %8.1f", onDevice.gflops)
        }
        if theirs.count == mine.count {
            let ratios = zip(mine, theirs).map { $0 / $1 }
            row["numpy_gflops"] = middle(theirs)
            row["cpu_over_numpy"] = middle(ratios)
            row["cpu_over_numpy_rounds"] = ratios
            line += String(format: "   numpy %7.1f   CPU/numpy %5.2f× (rounds %.2f–%.2f)", middle(theirs), middle(ratios),
                           ratios.min()!, ratios.max()!)
        }
        print(line + String(format: "   err %.1e", Double(gemm.maxError)))
        gemmRows.append(row)
    }
    results["gemm"] = gemmRows
    // Measured twice, a minute apart, keeping the larger: a neighbour's burst can halve one measurement.
    let peak = max(firstPeak, peakGFLOPS(threads: cpu.threadCount))
    results["peak_gflops"] = peak
    results["peak_vector"] = peakVectorDescription
    print("Multiply-add peak of this machine (\(cpu.threadCount) threads, registers only, \(peakVectorDescription), "
          + String(format: "the larger of two measurements): %.1f GFLOP/s", peak))
    print("Training and prediction, samples/s (steady state, after a warm-up epoch)")
    var trainRows: [String: Any] = [:]
    var rooflines: [String] = []
    for workloadName in WorkloadName.allCases {
        let name = workloadName.rawValue, workload = file.workload(workloadName)
        // With tf.keras beside it: paired rounds (MLPKit, then tf.keras on its kept model), the ratio the median
        // of the rounds' ratios, as for the GEMM shapes.
        var rounds: [(mine: TrainResult, keras: [String: Any]?)] = []
        for _ in 0..<(reference == nil ? 1 : workloadRounds) {
            let mine = try runWorkload(workload, backend: cpu)
            rounds.append((mine, reference?.train(name)))
        }
        let mine = rounds[0].mine
        let train = middle(rounds.map(\.mine.samplesPerSecond)), predict = middle(rounds.map(\.mine.predictSamplesPerSecond))
        var row = mine.json
        row["samples_per_second"] = train
        row["predict_samples_per_second"] = predict
        var line = String(format: "  %-6@ CPU train %9.0f  predict %9.0f  loss %.3f→%.3f  allocations/step %.1f  peak %.0f MiB", name as NSString,
                          train, predict, Double(mine.losses.first!), Double(mine.losses.last!),
                          rounds.map(\.mine.allocationsPerStep).max()!, mine.peakMemoryMiB)
        if let device {
            let theirs = try runWorkload(workload, backend: device)
            row["device"] = theirs.json
            line += String(format: "  | device train %9.0f  predict %9.0f", theirs.samplesPerSecond, theirs.predictSamplesPerSecond)
        }
        let keras = rounds.compactMap { round -> (mine: TrainResult, train: Double, predict: Double, answer: [String: Any])? in
            guard let answer = round.keras, let train = answer["samples_per_second"] as? Double,
                  let predict = answer["predict_samples_per_second"] as? Double else { return nil }
            return (round.mine, train, predict, answer)
        }
        if keras.count == rounds.count, let first = keras.first {
            let kerasTrain = middle(keras.map(\.train)), kerasPredict = middle(keras.map(\.predict))
            let trainRatios = keras.map { $0.mine.samplesPerSecond / $0.train }
            let predictRatios = keras.map { $0.mine.predictSamplesPerSecond / $0.predict }
            var answer = first.answer
            answer["samples_per_second"] = kerasTrain
            answer["predict_samples_per_second"] = kerasPredict
            answer["rounds"] = keras.map { ["samples_per_second": $0.train, "predict_samples_per_second": $0.predict] }
            row["keras"] = answer
            row["rounds"] = rounds.map { ["samples_per_second": $0.mine.samplesPerSecond, "predict_samples_per_second": $0.mine.predictSamplesPerSecond] }
            row["train_over_keras"] = middle(trainRatios)
            row["train_over_keras_rounds"] = trainRatios
            row["predict_over_keras"] = middle(predictRatios)
            row["predict_over_keras_rounds"] = predictRatios
            let kerasLosses = first.answer["epoch_losses"] as? [Double] ?? []
            line += String(format: "  | tf.keras train %8.0f predict %8.0f loss %.3f→%.3f → %.1f× (rounds %.1f–%.1f) / %.1f× (%.1f–%.1f)",
                           kerasTrain, kerasPredict, kerasLosses.first ?? .nan, kerasLosses.last ?? .nan,
                           middle(trainRatios), trainRatios.min()!, trainRatios.max()!,
                           middle(predictRatios), predictRatios.min()!, predictRatios.max()!)
            // How far ahead anyone could be: the GEMM arithmetic of both runs as a share of the peak.
            let flops = workload.trainingFlopsPerSample, predictFlops = workload.predictionFlopsPerSample
            let ours = train * flops / 1e9, theirs = kerasTrain * flops / 1e9
            let oursPredict = predict * predictFlops / 1e9, theirsPredict = kerasPredict * predictFlops / 1e9
            row["train_gflops"] = ours
            row["keras_train_gflops"] = theirs
            row["predict_gflops"] = oursPredict
            row["keras_predict_gflops"] = theirsPredict
            rooflines.append(String(format: "  %-6@ training: MLPKit %6.1f GFLOP/s (%4.1f%% of peak), tf.keras %6.1f (%4.1f%%), at most %.1f× "
                                    + "possible; prediction: %6.1f (%4.1f%%), %6.1f (%4.1f%%), at most %.1f×", name as NSString,
                                    ours, 100 * ours / peak, theirs, 100 * theirs / peak, peak / theirs,
                                    oursPredict, 100 * oursPredict / peak, theirsPredict, 100 * theirsPredict / peak, peak / theirsPredict))
        }
        print(line)
        trainRows[name] = row
    }
    results["train"] = trainRows
    if !rooflines.isEmpty {
        print("GEMM arithmetic against the peak (training \(Int(file.workload(.wide).trainingFlopsPerSample / 1e6)), prediction "
              + "\(Int(file.workload(.wide).predictionFlopsPerSample / 1e6)) MFLOP per wide sample); \"at most\": peak / tf.keras' rate, "
              + "the most any implementation could be ahead of that tf.keras run")
        rooflines.forEach { print($0) }
    }
    results["monitor"] = try benchMonitor(backend: cpu)
    if let device { results["crossover"] = try runCrossover(device: device) }
    if let jsonOut {
        let data = try JSONSerialization.data(withJSONObject: results, options: [.sortedKeys, .prettyPrinted])
        try data.write(to: URL(fileURLWithPath: jsonOut))
        print("Wrote \(jsonOut)")
    }
}

/// `mlp-bench` (the default) or `mlp-bench suite`.
struct SuiteCommand: DeviceCommand {
    static let configuration = CommandConfiguration(
        commandName: "suite",
        abstract: "The suite: GEMM shapes, the three workloads (allocations, memory), the peak, GradientMonitor's cost, "
            + "and with --device the device beside the CPU and the crossover sweep.")

    @OptionGroup var device: DeviceOptions
    @Flag(help: "Time numpy and tf.keras (Scripts/bench-reference.py, MLPKIT_KERAS_PYTHON) in rounds alternating with MLPKit.")
    var compare = false
    @Option(help: ArgumentHelp("Also write the results as JSON to this file.", valueName: "file"))
    var jsonOut: String?

    func run(on backend: (any Backend)?) throws { try runSuite(device: backend, compare: compare, jsonOut: jsonOut) }
}
