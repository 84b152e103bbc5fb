import ArgumentParser

@main
struct Artworker: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "artworker",
        abstract: "Turns photos into anime-style pictures with CartoonGAN.",
        subcommands: [ServeCommand.self, WorkerCommand.self, JobsCommand.self, CartoonizeCommand.self, ImportWeightsCommand.self, ImageCommand.self, PaletteCommand.self, MigrateStorageCommand.self, SweepBlobsCommand.self, BenchCommand.self, VideoBenchCommand.self, DoctorCommand.self]
    )
}
