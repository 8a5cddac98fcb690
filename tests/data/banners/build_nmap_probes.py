"""Banners filled in by hand from nmap-service-probes match lines: one plausible value per pattern.

Usage: python build_nmap_probes.py NMAP_SERVICE_PROBES OUT.csv
Each row cites the match line (at the nmap commit below) whose product name it was built from.
"""

import csv
import sys
from pathlib import Path

COMMIT = "db4aefddfa348ec815ffa83a109c97e05db88766"
LINES = Path(sys.argv[1]).read_text(encoding="latin-1").split("\n")
ROWS: list[dict[str, str]] = []


def source(near: int, product: str) -> str:
    """The match line naming `product` (nmap's p/.../ field) nearest to line `near`, as a link."""
    hits = [number for number, line in enumerate(LINES, start=1)
            if line.startswith(("match", "softmatch")) and (f"p/{product}/" in line or f"p|{product}" in line)]
    if not hits:
        raise SystemExit(f"no nmap line for {product!r}")
    best = min(hits, key=lambda hit: abs(hit - near))
    return f"https://github.com/nmap/nmap/blob/{COMMIT}/nmap-service-probes#L{best} (p/{product}/)"


def add(signal: str, banner: str, maker: str, producer: str, prc: str, kind: str, near: int, product: str) -> None:
    ROWS.append(dict(signal=signal, banner=banner, maker=maker, producer=producer, prc=prc, kind=kind,
                     source=source(near, product)))


S = "surveillance"
add("banner", "220 Welcome to Network Camera FTP Server", "Vivotek", "vivotek", "", S, 1014, "Vivotek 3102 Camera ftpd")
add("banner", "220 PrNET FTP server (PrNET FTP 1.0.2) ready.", "Panasonic", "panasonic", "", S, 1043, "Panasonic WV-NP1000 webcam ftpd")
add("banner", "\xff\xfb\x01\xff\xfb\x03Welcome to Network Camera telnet daemon\r\n\r\nPassword:", "Vivotek", "vivotek", "", S, 4338, "Vivotek 3102 Camera telnetd")
add("banner", "Welcome to Linux (ZEM300) for MIPS\r\nKernel 2.4.20 Treckle on an MIPS\r\n", "ZKSoftware", "zkteco", "", "security", 4488, "ZKSoftware ZEM300 embedded Linux telnetd")
add("banner", "Welcome to Linux (ZEM500) for MIPS\r\nKernel 2.4.20 Treckle on an MIPS\r\nZEM500 login: ", "ZKSoftware", "zkteco", "", "security", 4527, "ZKSoftware ZEM500 fingerprint reader telnetd")
add("banner", "Welcome to Linux (ZEM200) for arca\r\nKernel 2.4.20 on an arca \r\nZEM200 login: ", "ZKSoftware", "zkteco", "", "security", 4308, "ZEM200 biometric device config telnetd")
add("http_server", "ZK Web Server", "ZKTeco", "zkteco", "", "security", 10904, "ZKTeco embedded web server")
add("banner", "HTTP/1.0 200 OK\r\nServer: ZK Web Server\r\nPragma: no-cache\r\nCache-control: no-cache\r\n\r\n<script language=JavaScript type='text/javascript'>self.location.href='/csl/login'</script>", "ZKTeco", "zkteco", "", "security", 9212, "ZK Web Server")
add("banner", "Welcome to Dinion-IP-NWC 4.10 from 192.168.0.20", "Bosch", "bosch_security", "", S, 4537, "Dinion IP NWC webcam telnetd")
add("banner", "Welcome to IP bullet 5000 HD 6.10 from 10.0.0.7", "Bosch", "bosch_security", "", S, 4908, "Bosch DINION IP Bullet 5000 webcam telnetd")
add("banner", "Welcome to VIP-X1600 from 10.1.1.9\r\nTLS invalid record length\r\n", "Bosch", "bosch_security", "", S, 6266, "Bosch VIP X1 video encoder telnetd")
for model in ("GXP2000", "GXP1450", "HT502", "GXV3140"):
    add("banner", f"Grandstream {model} Command Shell\r\nPassword: ", "Grandstream", "grandstream", "", "conferencing", 4836, "Grandstream $1 VoIP phone telnetd")
add("http_server", "Grandstream/1.10", "Grandstream", "grandstream", "", "conferencing", 7478, "Grandstream httpd")
add("http_server", "Grandstream BT200 1.1.6.46", "Grandstream", "grandstream", "", "conferencing", 7479, "Grandstream $1 VoIP phone http config")
add("http_server", "GeoHttpServer", "GeoVision", "geovision", "", S, 7510, "GeoVision GeoHttpServer for webcams")
add("banner", "HTTP/1.0 200 OK\r\nServer: GeoHttpServer\r\nContent-Type: text/html\r\n\r\n", "GeoVision", "geovision", "", S, 7510, "GeoVision GeoHttpServer for webcams")
add("banner", "HTTP/1.0 200\r\nContent-type: text/html\r\n\r\n<HTML>\r\n<HEAD><TITLE>WJ-NT104 MAIN PAGE</TITLE></HEAD>\r\n", "Panasonic", "panasonic", "", S, 7817, "Panasonic WJ-NT104 network camera httpd")
add("banner", "HTTP/1.1 200 OK\r\nServer: VB150\r\nContent-Type: text/html\r\n\r\n<html><head><title>WebView Livescope</title></head>", "Canon", "canon", "", S, 7856, "Canon WebView VB150 http config")
add("banner", "HTTP/1.0 302 Found\r\nLocation: /control/userimage.html\r\n\r\n", "Mobotix", "mobotix", "", S, 9020, "Mobotix Camera http config")
for realm, ver in (("SNC-RZ30", "2.13"), ("SNC-CS50", "1.20"), ("SNC-DF40", "2.00")):
    add("banner", f"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"Sony Network Camera {realm}\"\r\nContent-Type: text/html\r\nServer: NetEVI/{ver}\r\n\r\n", "Sony", "sony", "", S, 8146, "Sony webcam $1 http config")
    add("http_realm", f'Basic realm="Sony Network Camera {realm}"', "Sony", "sony", "", S, 8146, "Sony webcam $1 http config")
add("http_server", "Vivotek Network Camera", "Vivotek", "vivotek", "", S, 9191, "Vivotek Network Camera http config")
add("banner", "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"Remote-Motion CCD Network Camera\"\r\nContent-Type: text/html\r\nServer: Vivotek Network Camera\r\n\r\n", "Vivotek", "vivotek", "", S, 9191, "Vivotek Network Camera http config")
add("banner", "HTTP/1.0 200 OK\r\nDate: Mon, 02 Mar 2020 10:00:00 GMT\r\nServer: App-webs/\r\nContent-Type: text/html\r\n\r\n", "Hikvision", "hikvision", "", S, 9762, "Hikvision IP camera httpd")
add("banner", "HTTP/1.0 302 Redirect\r\nServer: Hikvision-Webs\r\nDate: Thu Jan  1 00:00:00 1970\r\nPragma: no-cache\r\nCache-Control: no-cache\r\nContent-Type: text/html\r\nLocation: http://192.168.1.64:80/index.asp\r\n\r\n", "Hikvision", "hikvision", "", S, 9906, "Hikvision DVR httpd")
add("banner", "HTTP/1.0 200 OK\r\nDate: Mon, 02 Mar 2020 10:00:00 GMT\r\nServer: DNVRS-Webs\r\nETag: \"0-5a3-2ba\"\r\nContent-Length: 702\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n", "Hikvision", "hikvision", "", S, 10283, "Hikvision Network Video Recorder http admin")
add("banner", "HTTP/1.1 200 OK\r\nServer: DVRDVS-Webs\r\nContent-Type: text/html\r\n\r\n", "Hikvision", "hikvision", "", S, 10284, "Hikvision DVR web UI")
add("banner", "RTSP/1.0 401 Unauthorized\r\nWWW-Authenticate: Digest realm=\"Hikvision\", nonce=\"0d8c3a7e45b1f2a9c6e7d8f9a0b1c2d3\", stale=\"FALSE\"\r\nWWW-Authenticate: Basic realm=\"/\"\r\n\r\n", "Hikvision", "hikvision", "", S, 12367, "Hikvision DVR rtspd")
add("banner", "RTSP/1.0 405 Method Not Allowed\r\nServer: Dahua Rtsp Server\r\nContent-Length: 0\r\nCSeq: 0\r\n\r\n", "Dahua", "dahua", "", S, 11572, "Dahua IP camera rtspd")
add("banner", "RTSP/1.0 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"device\"\r\nServer: Dahua Rtsp Server\r\nContent-Length: 0\r\n\r\n", "Dahua", "dahua", "", S, 12373, "Dahua IP camera rtspd")
add("rtsp_server", "H264DVR 1.0", "Xiongmai", "xiongmai", "", S, 12378, "H264DVR rtspd")
add("banner", "HTTP/1.1 200 OK\r\nContent-Type: application/x-rtsp-tunnelled\r\nServer: H264DVR 1.0\r\nConnection: close\r\nCache-Control: private\r\n\r\n", "Xiongmai", "xiongmai", "", S, 11579, "H264DVR rtspd")
add("banner", "HTTP/1.0 200 OK\r\nServer: uc-httpd 1.0.0\r\nContent-Type: text/html\r\n\r\n", "Xiongmai", "xiongmai", "", S, 10782, "uc-httpd")
add("http_server", "yealink embed httpd", "Yealink", "yealink", "", "conferencing", 10495, "Yealink VoIP phone httpd")
for ua in ("Yealink SIP-T46G 28.81.0.110", "Yealink SIP-T21P_E2 52.84.0.15", "Yealink SIP-T54S 70.84.0.70"):
    add("banner", f"SIP/2.0 200 OK\r\nUser-Agent: {ua}\r\n\r\n", "Yealink", "yealink", "", "conferencing", 14972, "Yealink $1 VoIP phone sipd")
add("banner", "SIP/2.0 200 OK\r\nUser-Agent: Grandstream IP1500 1.0.0.25\r\n\r\n", "Grandstream", "grandstream", "", "conferencing", 15061, "Grandstream $1 VoIP phone SIP")
add("banner", "HTTP/1.1 500 Internal Server Error\r\nServer: HIP2.22.0.31.2\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", "2N", "two_n", "", "security", 10527, "2N Helios IP http admin")
add("banner", "RTSP/1.0 505 RTSP Version Not Supported\r\nServer: HIP2.18.0.25.5\r\n\r\n", "2N", "two_n", "", "security", 11576, "2N Helios IP intercom rtspd")
add("banner", "HTTP/1.0 401 Unauthorized\r\nWWW-Authenticate: Digest realm=\"Use 'live' as User Name in order to log in to the respective level\",nonce=\"4f1d2c3b4a5968778695a4b3c2d1e0f1\",opaque=\"\",stale=FALSE,algorithm=MD5\r\n\r\n", "Bosch", "bosch_security", "", S, 10418, "Bosch DINION IP Bullet 5000 webcam http admin")
add("banner", "HTTP/1.1 200 OK\r\nServer: VCS-VideoJet-Webserver\r\n\r\n<title>browser_capture</title>", "Bosch", "bosch_security", "", S, 8061, "VCS-VideoJet-Webserver httpd")
add("banner", "HTTP/1.1 200 OK\r\nServer: AvigilonOnvifNvt/3.2.0.33\r\n\r\n", "Avigilon", "avigilon", "", S, 11620, "Avigilon webcam ONVIF NVT")
add("banner", "RTSP/1.0 404 Not Found\r\nServer: AvigilonOnvifNvt/2.4.2.28\r\n\r\n", "Avigilon", "avigilon", "", S, 12390, "Avigilon ONVIF camera rtspd")
add("banner", "HTTP/1.1 404 Not Found\r\nServer: Netwave IP Camera\r\n\r\n", "Netwave", "", "yes", "white_label", 12600, "Netwave webcam http config")
add("banner", "HTTP/1.1 404 Not Found\r\nServer: ReeCam IP Camera\r\n\r\n", "ReeCam", "", "yes", "white_label", 12604, "ReeCam IP Camera httpd")
add("banner", "RTSP/1.0 400 Bad Request\r\nCSeq: 1\r\nServer: Hipcam RealServer/V1.0\r\n\r\nRTSP/1.0 400 Bad Request\r\n", "Hipcam", "", "yes", "white_label", 12380, "Hipcam IP camera rtspd")
add("banner", "RTSP/1.0 200 OK\r\nServer: HiIpcam/V100R003 VodServer/1.0.0\r\nPublic: OPTIONS, DESCRIBE, SETUP, TEARDOWN, PLAY\r\n\r\n", "HiLinux", "", "yes", "white_label", 12385, "HiLinux IP camera rtspd")
add("banner", "\xff\xfb\x03\xff\xfb\x01\xff\xfd\x03\xff\xfd\x01          The products of network camera\r\n\r\nUsername: ", "Hi3518 camera", "", "yes", "white_label", 4900, "Hi3518 network camera telnetd")
add("banner", "HTTP/1.0 200 OK\nContent-type: text/html\nServer: AV-TECH AV787 Video Web Server\n", "AVTECH", "avtech", "no", S, 8290, "Gadspot")
add("banner", "HTTP/1.0 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"Arecont Vision\"\r\n\r\n", "Arecont Vision", "arecont_vision", "", S, 11900, "Arecont Vision surveillance camera httpd")
add("banner", "HTTP/1.0 401 Unauthorized\r\nServer: IQinVision Embedded 1.0\r\nWWW-Authenticate: Basic realm=\"IQeye\"\r\n", "IQinVision", "iqinvision", "", S, 11880, "IQinVision embedded httpd")
add("banner", "HTTP/1.1 400 Bad Request\r\nServer: Aimetis-InfoService/2.1\r\n\r\n", "Aimetis", "", "no", S, 8000, "Aimetis InfoService httpd")
add("banner", "HTTP/1.1 200 OK\r\nServer: D-Link Internet Camera\r\n\r\n<title>DCS-2100</title>", "D-Link", "dlink", "no", S, 8450, "D-Link $1 webcam http config")
add("banner", "HTTP/1.0 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"DCS-5300\"\r\n", "D-Link", "dlink", "no", S, 8440, "D-Link $1 webcam http config")
add("banner", "HTTP/1.1 401 Unauthorized\r\nServer: BlueIris-HTTP/1.1\r\nDate: Mon, 02 Mar 2020 10:00:00 GMT\r\nP3P: CP=\"NOI\"\r\n", "Blue Iris", "", "no", S, 9300, "Blue Iris camera webserver")
add("banner", "RTSP/1.0 400 Bad Request\r\nServer: Optelecom-NKF RTSPServer/1.4\r\n\r\n", "Optelecom-NKF", "optelecom_nkf", "", S, 12370, "Optelecom-NKF rtspd")
add("banner", "HTTP/1.0 200 OK\r\nContent-type: text/html\r\nContent-Encoding: gzip\r\nServer: Sentry360 \r\n\r\n", "Sentry360", "", "no", S, 10470, "Sentry360 FS-IP5000 camera httpd")
add("banner", "HTTP/1.0 200 OK\r\nServer: Motion/3.2.12\r\n", "Motion (open source)", "", "", "unrelated", 1100, "Motion Camera httpd")
add("banner", "HTTP/1.0 401 Unauthorized\r\nDate: Mon, 02 Mar 2020 10:00:00 GMT\r\nServer: GoAhead-Webs\r\nConnection: close\r\nWWW-Authenticate: Basic realm=\"CameraServer\"\r\n", "AirLink", "", "", "surveillance_unknown", 8200, "GoAhead WebServer")
add("banner", "HTTP/1.0 401 Unauthorized\r\nServer: http\r\nConnection: close\r\nWWW-Authenticate: Basic realm=\"Login to Vigor 3300\"\r\n\r\n", "DrayTek", "", "", "unrelated", 8446, "DrayTek Vigor 3300 router http config")
add("banner", "HTTP/1.0 401 Unauthorized\r\nPragma: no-cache\r\nContent-type: text/html\r\nWWW-Authenticate: Basic realm=\"Login to the Router Web Configurator\"\r\n\r\n", "DrayTek", "", "", "unrelated", 6644, "DrayTek Vigor ADSL router webadmin")
with open(sys.argv[2], "w", newline="", encoding="utf-8") as out:
    writer = csv.DictWriter(out, fieldnames=list(ROWS[0]))
    writer.writeheader()
    writer.writerows(ROWS)
print(len(ROWS))
