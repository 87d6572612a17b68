/**
 * Every Python lab file named in ../shared/seeds/, grouped by lab. A lesson claims
 * one of these names in its `@python` header tag; the README's mapping table
 * (tools/readme.ts) shows each name with the lesson that replaces it, or "planned".
 *
 * Two labs need a prefix to keep names unique: the Taller ships a TCP and a UDP
 * `client_calc.py`, and the LAB keeps all its exercises in one file, so its
 * functions are named `tcp_sockets_python.py#function`. The Informe's code has
 * no file names; we call its two halves `informe#server` and `informe#client`.
 */
export interface PythonLab {
  lab: string;
  files: string[];
}

export const PYTHON_LABS: PythonLab[] = [
  {
    lab: "Practica 2 (socket utils, NTP, HTTP client, server)",
    files: [
      "basics-01.py",
      "basics-02.py",
      "basics-03.py",
      "basics-04.py",
      "basics-05.py",
      "socket-01.py",
      "socket-02.py",
      "socket-03.py",
      "socket-04.py",
      "socket-05.py",
      "server-01.py",
      "server-02.py",
      "server-03.py",
      "server-04.py",
      "server-05.py",
    ],
  },
  {
    lab: "Taller de Sockets (DNS, addresses, calculators, chat)",
    files: [
      "Gethostname.py",
      "Dns.py",
      "Ip_address.py",
      "tcp/client_calc.py",
      "tcp/server_calc.py",
      "tcp/client_echo.py",
      "tcp/server_echo.py",
      "udp/client_calc.py",
      "udp/server_calc.py",
      "server_calc_conc.py",
      "ServidorTCP.py",
      "ClienteTCP.py",
      "ServidorUDP.py",
      "ClienteUDP.py",
    ],
  },
  {
    lab: "Comunicación de Sockets (first server and client)",
    files: ["servidor.py", "cliente.py"],
  },
  {
    lab: "LAB Sockets TCP (tcp_sockets_python.py, one function per exercise)",
    files: [
      "tcp_sockets_python.py#scan_ports",
      "tcp_sockets_python.py#connection_info",
      "tcp_sockets_python.py#daytime_client",
      "tcp_sockets_python.py#LocalDaytimeServer",
      "tcp_sockets_python.py#echo_client",
      "tcp_sockets_python.py#LocalEchoServer",
      "tcp_sockets_python.py#basic_server",
      "tcp_sockets_python.py#basic_client",
      "tcp_sockets_python.py#MessageServer",
      "tcp_sockets_python.py#FileTransferServer",
      "tcp_sockets_python.py#network_diagnostics",
      "tcp_sockets_python.py#test_connection",
      "tcp_sockets_python.py#create_sample_files",
      "tcp_sockets_python.py#format_bytes",
      "tcp_sockets_python.py#demo_menu",
      "tcp_sockets_python.py#extended_menu",
    ],
  },
  {
    lab: "Informe (TCP and UDP server in one process)",
    files: ["informe#server", "informe#client"],
  },
];

/** Files of the labs that the book replaces outside any chapter (the menu and tour). */
export const REPLACED_BY_BOOK: Record<string, string> = {
  "tcp_sockets_python.py#demo_menu": "index.ts (`bun .`)",
  "tcp_sockets_python.py#extended_menu": "index.ts (`bun . --demo`)",
};

/** The Python lab files no lesson claims yet; tools/readme.ts marks them "planned". */
export const ALL_PYTHON_FILES: string[] = PYTHON_LABS.flatMap((lab) => lab.files);
