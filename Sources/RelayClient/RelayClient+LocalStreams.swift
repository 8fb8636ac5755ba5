#if canImport(Glibc)
import Glibc
#endif
import RelayIO

// MARK: The loop's side of pipe mode and services

extension RelayClient {
    /// Pipe mode or `--exec`: sets up the raw streams (and starts the service) before
    /// HELLO. False when the service cannot be started.
    func startLocalStreams() -> Bool {
        if let command = configuration.exec {
            let mode: LocalStreams.Mode = configuration.pipe ? .raw : .lines
            do {
                let process = try ServiceProcess(command: command, loop: loop) { [weak self] process in
                    self?.serviceExited(process)
                }
                service = process
                local = LocalStreams(inputFD: process.fromChild, outputFD: process.toChild, mode: mode, ownsDescriptors: true)
            } catch {
                terminal.status("! --exec: \(error)")
                return false
            }
        } else if configuration.pipe {
            local = LocalStreams(inputFD: 0, outputFD: 1, mode: .raw, ownsDescriptors: false)
        }
        guard let local else { return true }
        standardInputReader = IOWatcher(loop: loop, fd: local.inputFD, events: .read) { [weak self] _ in self?.handleStandardInput() }
        localWriter = IOWatcher(loop: loop, fd: local.outputFD, events: .write) { [weak self] _ in
            self?.flushLocal()
            self?.flushSocket()
        }
        if configuration.pipe, configuration.progress { progress = ProgressMeter() }
        return true
    }

    /// Writes what the local output takes; the relay is not read while too much waits
    /// (bounded memory whatever the reader's speed). Tells the session once the output
    /// is closed after the peer's end.
    func flushLocal() {
        guard let local, exitCode == nil else { return }
        let wasOpen = local.isOutputOpen
        let failedBefore = local.outputFailed
        let drained = local.flush()
        if local.outputFailed, !failedBefore {
            if service == nil {
                terminal.status("! standard output was closed before the end of the stream")
                finish(ClientExit.failure)
                return
            }
            terminal.status("! the service stopped reading its input")
        }
        if drained { localWriter?.stop() } else { localWriter?.start() }
        if wasOpen, !local.isOutputOpen {
            perform(session.handle(.outputClosed))
        }
        guard exitCode == nil else { return }
        if local.output.byteCount >= configuration.outputQueueLimit {
            socketReader.stop()
        } else if !socketReader.isActive {
            socketReader.start()
            if connection.stream.hasBufferedInput { socketReader.feed(.read) }
        }
    }

    private func serviceExited(_ process: ServiceProcess) {
        guard exitCode == nil else { return }
        terminal.status("* the service \(process.exitDescription)")
        // What it printed before exiting is still in the pipe: read on to its end.
        if local?.isInputOpen == true, !standardInputReader.isActive, inputWanted { standardInputReader.feed(.read) }
    }

    /// Leaving: the last progress figures, standard output's flags back, and the service
    /// reaped (given a moment when its output already ended, as it is exiting; else
    /// stopped) and its exit reported.
    func finishLocalStreams() {
        progress?.finish()
        local?.restoreFlags()
        guard let service, service.waitStatus == nil else { return }
        if local?.isInputOpen != false || !service.reap(within: 2) {
            service.terminate()
            service.reap(within: 2)
        }
        if service.waitStatus != nil { terminal.status("* the service \(service.exitDescription)") }
    }
}
