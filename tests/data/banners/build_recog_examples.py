"""The labelled <example> strings of a rapid7/recog checkout, as banner corpus rows.

Usage: python build_recog_examples.py RECOG_CHECKOUT OUT.csv
The maker is Recog's hw/os/service vendor for the example; producer ids are the knowledge base's.
Unrelated vendors are capped per vendor so no single one dominates the negatives.
"""

import collections
import csv
import sys
import xml.etree.ElementTree as ET

COMMIT = "14fa1a7211e7fb5707c7a1b421a07d6c2cf4eec5"
FILES = {"http_servers.xml": "http_server", "html_title.xml": "http_title", "http_wwwauth.xml": "http_realm",
         "favicons.xml": "favicon", "snmp_sysdescr.xml": "snmp_sysdescr", "rtsp_servers.xml": "rtsp_server",
         "x509_subjects.xml": "tls_subject", "x509_issuers.xml": "tls_issuer", "telnet_banners.xml": "banner",
         "ftp_banners.xml": "banner", "snmp_sysobjid.xml": "snmp_oid", "sip_user_agents.xml": "banner",
         "sip_banners.xml": "banner", "ssh_banners.xml": "banner"}
# recog vendor -> (producer id or "", kind).  kind: surveillance | security | network | conferencing | other | unrelated
LISTED = {
    "Hikvision": ("hikvision", "surveillance"), "Dahua": ("dahua", "surveillance"),
    "Xiongmai Technology": ("xiongmai", "surveillance"), "Axis": ("axis", "surveillance"), "AXIS": ("axis", "surveillance"),
    "Bosch": ("bosch_security", "surveillance"), "Hanwha Techwin": ("hanwha_vision", "surveillance"),
    "Mobotix": ("mobotix", "surveillance"), "Pelco": ("pelco", "surveillance"), "Avigilon": ("avigilon", "surveillance"),
    "Genetec": ("genetec", "surveillance"), "Sony": ("sony", "surveillance"), "Panasonic": ("panasonic", "surveillance"),
    "Canon": ("canon", "other"), "Konica Minolta": ("konica_minolta", "other"), "Ubiquiti": ("ubiquiti", "network"), "Huawei": ("huawei", "network"),
    "ZTE": ("zte", "network"), "TP-LINK": ("tplink", "network"), "Honeywell": ("honeywell", "other"),
    "Grandstream": ("grandstream", "conferencing"), "Yealink": ("yealink", "conferencing"),
    "2N Telekomunikace": ("two_n", "security"),
    "S2": ("s2_security", "security"), "Mercury Security": ("mercury_security", "security"),
    "IQinVision": ("iqinvision", "surveillance"), "Software House": ("johnson_controls", "security"),
    "Eagle Eye Networks": ("eagle_eye_networks", "surveillance"), "Teledyne FLIR": ("flir", "surveillance"),
}
# Makers the knowledge base does not list: nothing may be named for them; prc says what a verdict must not contradict.
UNLISTED = {"D-Link": "no", "Merit LILIN": "no", "Steinsvik": "no", "Truen": "no",
            "Vaddio": "no", "TRENDnet": "no", "ELAN": "no", "HeiTel": "no", "FUHO": "no", "Rifatron": "no", "Nuuo": "no", "Polycom": "no", "Lifesize": "no",
            "Avaya": "no", "H3C": "yes", "Netwave": "yes", "Hipcam": "yes", "Shenzhen Reecam Tech. Ltd.": "yes",
            "Foscam": "yes", "HiSilicon": "yes", "AMAG Technology": "no", "Keyper": "no", "CDVI": "no", "Indigo Security": "no", "Tivo": "no", "ADB": "no"}
# Unlisted makers the knowledge base has since added: their rows name the producer, the rest stays as above.
UNLISTED_PRODUCER = {"D-Link": "dlink", "Merit LILIN": "merit_lilin", "HeiTel": "heitel", "FUHO": "fuho",
                     "AVTECH": "avtech", "Truen": "truen", "TRENDnet": "trendnet", "Rifatron": "rifatron",
                     "CDVI": "cdvi"}
UNLISTED_KIND = {"Polycom": "conferencing", "Lifesize": "conferencing", "Avaya": "conferencing", "H3C": "network",
                 "Vaddio": "conferencing", "Tivo": "unrelated"}
UNRELATED = ["HP", "Microsoft", "3Com", "IBM", "Apache", "Ubuntu", "Ricoh", "Lantronix", "Juniper", "Lexmark", "Debian",
             "Epson", "Xerox", "FreeBSD", "Dell", "ADTRAN", "Apple", "MikroTik", "AVM", "APC", "Netgear", "Brother",
             "Synology", "Asus", "Fortinet", "Kyocera", "Linksys", "nginx", "Sharp", "Oki", "Toshiba",
             "Zyxel", "DrayTek", "Aruba", "Eaton", "Red Hat", "Sonos", "Shelly", "Moxa", "Cisco", "Samsung",
             "ProFTPD Project", "vsFTPd Project", "PureFTPd", "Iomega", "Raspbian", "Technicolor"]
PER_UNRELATED_VENDOR = 12
WHITE_LABEL = {"Netwave", "Hipcam", "Shenzhen Reecam Tech. Ltd.", "HiSilicon"}

def main(recog: str, out: str) -> None:
    rows, taken = [], collections.Counter()
    for name, signal in FILES.items():
        for fp in ET.parse(f"{recog}/xml/{name}").getroot().iter("fingerprint"):
            desc = " ".join((fp.findtext("description") or "").split())
            params = {p.get("name"): p.get("value") or "" for p in fp.iter("param")}
            vendor = params.get("hw.vendor") or params.get("os.vendor") or params.get("service.vendor") or ""
            device = params.get("hw.device") or params.get("os.device") or ""
            for ex in fp.iter("example"):
                if ex.get("_encoding") == "base64" or not (ex.text or "").strip():
                    continue
                text = " ".join(ex.text.split()) if signal != "banner" else ex.text.strip()
                if signal == "http_realm" and "realm" not in text.lower():
                    continue
                source = f"https://github.com/rapid7/recog/blob/{COMMIT}/xml/{name} \"{desc}\""
                if vendor == "Samsung" and device == "DVR":  # Samsung Techwin, now Hanwha Vision
                    rows.append(dict(signal=signal, banner=text, maker=vendor, producer="hanwha_vision", prc="",
                                     kind="surveillance", source=source))
                elif vendor == "TP-LINK":  # pre-2024 TP-Link firmware: made in Shenzhen, whichever company sells it now
                    producer = "tplink_cn"
                    rows.append(dict(signal=signal, banner=text, maker=vendor, producer=producer, prc="yes",
                                     kind="network", source=source))
                elif vendor in LISTED:
                    producer, kind = LISTED[vendor]
                    if kind == "surveillance" and device in ("Printer", "Print Server", "Multifunction Device", "Scanner",
                                                               "Media Server", "Smart TV", "VoIP Server", "Storage"):
                        kind = "other"
                    if vendor == "Bosch" and device in ("Alarm Panel",):
                        kind = "security"
                    if "disk recorder" in desc:
                        kind = "surveillance"
                    if device in ("IP Camera", "DVR", "Web Cam", "Video Encoder") or "UniFi Video" in desc or "NVR" in desc:
                        kind = "surveillance" if kind != "security" else kind
                    rows.append(dict(signal=signal, banner=text, maker=vendor, producer=producer, prc="", kind=kind,
                                     source=source))
                elif vendor in UNLISTED:
                    kind = UNLISTED_KIND.get(vendor, "surveillance" if vendor not in ("AMAG Technology", "Keyper", "CDVI")
                                             else "security")
                    if vendor in WHITE_LABEL or (vendor == "Foscam"):
                        kind = "white_label"
                    rows.append(dict(signal=signal, banner=text, maker=vendor, producer=UNLISTED_PRODUCER.get(vendor, ""),
                                     prc=UNLISTED[vendor], kind=kind,
                                     source=source))
                elif vendor in UNRELATED and taken[vendor] < PER_UNRELATED_VENDOR:
                    taken[vendor] += 1
                    rows.append(dict(signal=signal, banner=text, maker=vendor, producer="", prc="", kind="unrelated",
                                     source=source))
    with open(out, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(len(rows), collections.Counter(r["kind"] for r in rows))

if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
